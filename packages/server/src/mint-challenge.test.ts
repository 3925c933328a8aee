import { decodeInvoice, decodeMacaroon, parseL402Challenge } from '@l402kit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFixture, payChallenge } from './test-helpers.js';

// Counts decodes while keeping the real decoder.
vi.mock('@l402kit/core', async (importOriginal) => {
  const core = await importOriginal<typeof import('@l402kit/core')>();
  return { ...core, decodeInvoice: vi.fn(core.decodeInvoice) };
});
const decodes = vi.mocked(decodeInvoice);

afterEach(() => {
  decodes.mockClear();
});

describe('minting a 402', () => {
  it('uses the payment hash the wallet reports, without decoding the invoice it just made', async () => {
    const { paywall, buyer } = createFixture();
    decodes.mockClear();
    const result = await paywall.authorize(new Request('http://api.example/search'));
    expect(decodes).not.toHaveBeenCalled();
    if (result.ok) throw new Error('an unpaid request went through');

    // The macaroon names the hash the buyer pays, and the credential opens the resource.
    const challenge = parseL402Challenge(result.response.headers.get('www-authenticate'));
    expect(decodeMacaroon(challenge.macaroon).identifier.paymentHash).toBe(
      decodeInvoice(challenge.invoice).paymentHash,
    );
    const { authorization } = await payChallenge(buyer, result.response);
    const paid = new Request('http://api.example/search', { headers: { authorization } });
    expect(await paywall.authorize(paid)).toMatchObject({ ok: true });
  });

  it.each([
    ['no payment hash', (created: { invoice: string }) => ({ invoice: created.invoice })],
    ['a short payment hash', (created: { invoice: string }) => ({ ...created, paymentHash: 'ab' })],
    ['no invoice', (created: { paymentHash: string }) => ({ paymentHash: created.paymentHash })],
  ])('answers 503 when the wallet answers with %s', async (_name, change) => {
    const errors: unknown[] = [];
    const { paywall, seller } = createFixture({ onError: (error) => errors.push(error) });
    const createInvoice = seller.wallet.createInvoice!.bind(seller.wallet);
    seller.wallet.createInvoice = async (request) =>
      change(await createInvoice(request)) as Awaited<ReturnType<typeof createInvoice>>;
    const result = await paywall.authorize(new Request('http://api.example/search'));
    if (result.ok) throw new Error('an unpaid request went through');
    expect(result.response.status).toBe(503);
    expect(await result.response.json()).toEqual({ error: 'invoice_unavailable' });
    expect(errors).toHaveLength(1);
  });
});
