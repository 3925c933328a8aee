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
});
