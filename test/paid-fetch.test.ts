import { createBudget, createPaidFetch } from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
let api: PaidApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('paid fetch against a real L402 paywall', () => {
  it('pays the challenge once, retries with the credential and reuses the token', async () => {
    api = await startPaidApi();
    const budget = createBudget({ maxSats: 100 });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, budget, policy: loopbackPolicy });

    const first = await paidFetch(`${api.url}/article/1`);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ path: '/article/1' });
    expect(first.l402).toMatchObject({ paid: true, usedCachedToken: false, amountMsat: 10_000n });

    const second = await paidFetch(`${api.url}/article/1`);
    expect(second.status).toBe(200);
    expect(second.l402).toMatchObject({ paid: false, usedCachedToken: true });

    expect(api.payer.balanceMsat).toBe(100_000_000n - 10_000n);
    expect((await budget.status()).spentMsat).toBe(10_000n);
  });

  it('gives the receipt with a response that has no body (HEAD, 204) as with any other', async () => {
    api = await startPaidApi({
      handler: async (request) =>
        new URL(request.url).pathname === '/empty'
          ? new Response(null, { status: 204 })
          : new Response('body', { status: 200 }),
    });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    const empty = await paidFetch(`${api.url}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    expect(empty.l402).toMatchObject({ paid: true, amountMsat: 10_000n });
    const again = await paidFetch(`${api.url}/empty`);
    expect(again.l402).toMatchObject({ paid: false, usedCachedToken: true });

    const head = await paidFetch(`${api.url}/page`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.l402).toMatchObject({ paid: true, amountMsat: 10_000n });
    // With a body: the receipt is read-only and not an enumerable key, as before.
    const page = await paidFetch(`${api.url}/page`);
    expect(page.l402.url).toBe(`${api.url}/page`);
    expect(Object.keys(page)).not.toContain('l402');
    expect(() => {
      (page as { l402: unknown }).l402 = { paid: false };
    }).toThrow(TypeError);
    expect(await page.text()).toBe('body');
  });
});
