import { describe, expect, it } from 'vitest';
import { PaywallConfigError } from './errors.js';
import { type PaywallOptions, priceOf, priceToMsat, resolveOptions } from './options.js';

const wallet = {
  name: 'test',
  payInvoice: async () => ({ preimage: '00'.repeat(32), feeMsat: 0n }),
  createInvoice: async () => ({ invoice: '', paymentHash: '' }),
};
const base: PaywallOptions = {
  wallet,
  rootKey: new Uint8Array(32).fill(1),
  serviceName: 'research',
  price: 10,
};

describe('resolveOptions', () => {
  it('fills aperture-like defaults', () => {
    const options = resolveOptions(base);
    expect(options.tier).toBe(0);
    expect(options.offerLsat).toBe(true);
    expect(options.location).toBe('research');
    expect(options.bindToPath).toBe(false);
  });

  it('refuses a root key shorter than 32 bytes', () => {
    expect(() => resolveOptions({ ...base, rootKey: new Uint8Array(31) })).toThrow(
      PaywallConfigError,
    );
  });

  it('copies the root key so later changes to the caller buffer do not matter', () => {
    const rootKey = new Uint8Array(32).fill(1);
    const options = resolveOptions({ ...base, rootKey });
    rootKey.fill(0);
    expect(options.rootKey[0]).toBe(1);
  });

  it('refuses a wallet that cannot create invoices', () => {
    const { createInvoice: _, ...payOnly } = wallet;
    expect(() => resolveOptions({ ...base, wallet: payOnly })).toThrow(PaywallConfigError);
  });

  it.each([
    ['service name with a separator', { serviceName: 'a:b' }],
    ['empty service name', { serviceName: '' }],
    ['negative tier', { tier: -1 }],
    ['capability with a comma', { capabilities: ['a,b'] }],
    ['fractional validity', { validForSeconds: 1.5 }],
    ['negative price', { price: -1 }],
    ['sub-msat price', { price: 0.0001 }],
  ])('refuses a %s', (_name, change) => {
    expect(() => resolveOptions({ ...base, ...change } as PaywallOptions)).toThrow(
      PaywallConfigError,
    );
  });
});

describe('prices', () => {
  it('reads numbers as sats and bigints as msat', () => {
    expect(priceToMsat(21)).toBe(21_000n);
    expect(priceToMsat(0.5)).toBe(500n);
    expect(priceToMsat(1_500n)).toBe(1_500n);
  });

  it('hands the request to a price function, sync or async', async () => {
    const request = new Request('http://localhost/x?size=3');
    const bySize = (r: Request) => Number(new URL(r.url).searchParams.get('size'));
    expect(await priceOf(bySize, request)).toBe(3_000n);
    expect(await priceOf(async () => 7n, request)).toBe(7n);
    await expect(priceOf(() => Number.NaN, request)).rejects.toThrow(PaywallConfigError);
  });
});
