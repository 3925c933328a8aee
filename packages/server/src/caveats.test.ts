import { caveatValues, macaroonExpiry } from '@l402kit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  caveatKeys,
  checkCaveats,
  mintCaveats,
  paidMsatOf,
  type RequestScope,
  readCaveats,
} from './caveats.js';
import { resolveOptions } from './options.js';

const wallet = {
  name: 'test',
  payInvoice: async () => ({ preimage: '00'.repeat(32), feeMsat: 0n }),
  createInvoice: async () => ({ invoice: '', paymentHash: '' }),
};
const base = { wallet, rootKey: new Uint8Array(32).fill(7), serviceName: 'research', price: 10 };
const scope = { path: '/search', method: 'GET' };
const now = new Date('2030-01-01T00:00:00Z');
const nowSeconds = now.getTime() / 1000;

describe('mintCaveats', () => {
  it('writes services, capabilities, path, method, paid amount, then expiry (aperture order)', () => {
    const options = resolveOptions({
      ...base,
      tier: 2,
      capabilities: ['read', 'write'],
      validForSeconds: 60,
      bindToPath: true,
      bindToMethod: true,
    });
    expect(
      mintCaveats(options, { path: '/search', method: 'post', priceMsat: 10_000n }, now),
    ).toEqual([
      'services=research:2',
      'research_capabilities=read,write',
      'research_path=/search',
      'research_method=POST',
      'research_paid_msat=10000',
      `research_valid_until=${nowSeconds + 60}`,
    ]);
  });

  it('writes only the services caveat and the paid amount by default, tier 0', () => {
    expect(mintCaveats(resolveOptions(base), { ...scope, priceMsat: 10_000n }, now)).toEqual([
      'services=research:0',
      'research_paid_msat=10000',
    ]);
  });

  it('binds the path by default when the price depends on the request', () => {
    const options = resolveOptions({ ...base, price: () => 10 });
    expect(mintCaveats(options, { ...scope, priceMsat: 10_000n }, now)).toEqual([
      'services=research:0',
      'research_path=/search',
      'research_paid_msat=10000',
    ]);
    const unbound = resolveOptions({ ...base, price: () => 10, bindToPath: false });
    expect(mintCaveats(unbound, { ...scope, priceMsat: 1n }, now)).not.toContain(
      'research_path=/search',
    );
  });
});

describe('checkCaveats', () => {
  const check = (caveats: string[], requestScope: RequestScope = scope, tier = 0) =>
    checkCaveats(caveats, 'research', { ...requestScope, tier }, now);

  it('accepts the caveats the paywall mints for the same request', () => {
    const options = resolveOptions({
      ...base,
      validForSeconds: 60,
      bindToPath: true,
      bindToMethod: true,
    });
    expect(check(mintCaveats(options, { ...scope, priceMsat: 5n }, now))).toBeUndefined();
  });

  it('requires a services caveat naming this service, in every occurrence', () => {
    expect(check([])).toBe('wrong_service');
    expect(check(['services=other:0'])).toBe('wrong_service');
    expect(check(['services=other:0,research:1'])).toBeUndefined();
    expect(check(['services=research:0,other:0', 'services=other:0'])).toBe('wrong_service');
    expect(check(['services=research'])).toBe('invalid_caveat');
    expect(check(['services='])).toBe('invalid_caveat');
  });

  it('issue 11 item 12: a token opens its own tier and the tiers below it, never a higher one', () => {
    expect(check(['services=research:0'], scope, 1)).toBe('insufficient_tier');
    expect(check(['services=research:1'], scope, 1)).toBeUndefined();
    expect(check(['services=research:2'], scope, 1)).toBeUndefined();
    expect(check(['services=other:5,research:0'], scope, 1)).toBe('insufficient_tier');
    // A caveat the holder adds can lower the tier, never raise it.
    expect(check(['services=research:0', 'services=research:9'], scope, 1)).toBe(
      'insufficient_tier',
    );
    expect(check(['services=research:2', 'services=research:0'], scope, 1)).toBe(
      'insufficient_tier',
    );
    expect(check(['services=research:0,research:9'], scope, 1)).toBe('insufficient_tier');
  });

  it('refuses a token after its valid_until, including an unreadable one', () => {
    const services = 'services=research:0';
    expect(check([services, `research_valid_until=${nowSeconds + 1}`])).toBeUndefined();
    expect(check([services, `research_valid_until=${nowSeconds}`])).toBe('expired');
    // A later caveat may only narrow: the earliest expiry wins.
    expect(
      check([services, `research_valid_until=${nowSeconds + 60}`, `research_valid_until=1`]),
    ).toBe('expired');
    expect(check([services, 'research_valid_until=soon'])).toBe('expired');
  });

  it('binds to the path and method when those caveats are present', () => {
    const caveats = ['services=research:0', 'research_path=/search', 'research_method=GET'];
    expect(check(caveats)).toBeUndefined();
    expect(check(caveats, { path: '/search/', method: 'GET' })).toBe('wrong_path');
    expect(check(caveats, { path: '/other', method: 'GET' })).toBe('wrong_path');
    expect(check(caveats, { path: '/search', method: 'POST' })).toBe('wrong_method');
    expect(check(caveats, { path: '/search', method: 'get' })).toBeUndefined();
    expect(check([...caveats, 'research_path=/other'])).toBe('wrong_path');
  });

  it('issue 11 item 11: a token opens only requests that cost at most what it paid', () => {
    const caveats = ['services=research:0', 'research_paid_msat=1000'];
    const priced = (priceMsat: bigint) => ({ ...scope, priceMsat });
    expect(check(caveats, priced(1_000n))).toBeUndefined();
    expect(check(caveats, priced(999n))).toBeUndefined();
    expect(check(caveats, priced(1_001n))).toBe('underpaid');
    expect(check(caveats, priced(0n))).toBeUndefined();
    // A token that names no amount proves no payment; one with a garbled amount is refused.
    expect(check(['services=research:0'], priced(1n))).toBe('underpaid');
    expect(check([...caveats, 'research_paid_msat=1e9'], priced(1n))).toBe('invalid_caveat');
    expect(check([...caveats, 'research_paid_msat=-5'], priced(1n))).toBe('invalid_caveat');
    // A caveat the holder adds can lower the amount, never raise it.
    expect(check([...caveats, 'research_paid_msat=1000000'], priced(2_000n))).toBe('underpaid');
    expect(check([...caveats, 'research_paid_msat=10'], priced(500n))).toBe('underpaid');
    // Read in macaroon order: the first value that fails names the reason.
    expect(check([...caveats, 'research_paid_msat=5', 'research_paid_msat=x'], priced(10n))).toBe(
      'underpaid',
    );
    expect(check([...caveats, 'research_paid_msat=x', 'research_paid_msat=5'], priced(10n))).toBe(
      'invalid_caveat',
    );
    expect(check([...caveats, ' research_paid_msat = 10 '], priced(500n))).toBe('underpaid');
    // Another service's amount is not ours.
    expect(check(['services=research:0', 'other_paid_msat=9999'], priced(1n))).toBe('underpaid');
  });

  it('checks capabilities only when the request needs one', () => {
    const caveats = ['services=research:0', 'research_capabilities=read'];
    expect(check(caveats)).toBeUndefined();
    expect(check(caveats, { ...scope, capability: 'read' })).toBeUndefined();
    expect(check(caveats, { ...scope, capability: 'write' })).toBe('missing_capability');
  });

  it("ignores unknown caveats and other services' scopes", () => {
    expect(
      check(['services=research:0', 'color=blue', 'other_path=/x', 'no equals sign']),
    ).toBeUndefined();
  });
});

describe('readCaveats', () => {
  // Keys of this service and another, spelled with stray spaces, and caveats of no form.
  const caveat = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(
          'services',
          'research_capabilities',
          'research_path',
          'research_method',
          'research_paid_msat',
          'research_request',
          'research_valid_until',
          'other_valid_until',
          'other_path',
          'research',
          '',
        ),
        fc.constantFrom('', ' ', '\t'),
        fc.constantFrom('', ' '),
        fc.oneof(fc.string({ maxLength: 12 }), fc.nat().map(String), fc.constant('=')),
      )
      .map(([key, before, after, value]) => `${before}${key}${after}=${value}`),
    fc.string({ maxLength: 20 }),
  );

  it('files every value under its key exactly as caveatValues and macaroonExpiry read them', () => {
    fc.assert(
      fc.property(fc.array(caveat, { maxLength: 12 }), (caveats) => {
        const keys = caveatKeys('research');
        const reading = readCaveats(caveats, 'research');
        expect(reading.services).toEqual(caveatValues(caveats, keys.services));
        expect(reading.capabilities).toEqual(caveatValues(caveats, keys.capabilities));
        expect(reading.paths).toEqual(caveatValues(caveats, keys.path));
        expect(reading.methods).toEqual(caveatValues(caveats, keys.method));
        expect(reading.requests).toEqual(caveatValues(caveats, keys.request));
        expect(reading.paid).toEqual(caveatValues(caveats, keys.paid));
        expect(reading.expiresAt).toEqual(macaroonExpiry(caveats));
        // The checks give the same answer from the reading as from the list.
        const requirements = { ...scope, tier: 0, priceMsat: 5n };
        expect(checkCaveats(reading, 'research', requirements, now)).toBe(
          checkCaveats(caveats, 'research', requirements, now),
        );
        expect(paidMsatOf(reading, 'research')).toBe(paidMsatOf(caveats, 'research'));
        // Each amount read once, in order: whole msat or unreadable; the least readable is paid.
        const amounts = reading.paid.map((value) =>
          /^\d{1,30}$/.test(value) ? BigInt(value) : undefined,
        );
        expect(reading.paidAmounts).toEqual(amounts);
        const least = amounts.reduce<bigint | undefined>(
          (lowest, amount) =>
            amount !== undefined && (lowest === undefined || amount < lowest) ? amount : lowest,
          undefined,
        );
        expect(paidMsatOf(reading, 'research')).toBe(least);
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads the keys of the service it is asked about, one service after another', () => {
    const caveats = ['services=a:0,b:0', 'a_path=/a', 'b_path=/b'];
    expect(readCaveats(caveats, 'a').paths).toEqual(['/a']);
    expect(readCaveats(caveats, 'b').paths).toEqual(['/b']);
    expect(readCaveats(caveats, 'a').paths).toEqual(['/a']);
  });
});
