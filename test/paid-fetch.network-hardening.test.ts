// Issue 11, items 3, 6, 9 and 10: the network-facing guarantees of the paid fetch, each
// against real loopback HTTP servers and real signed invoices paid on a sandbox network.
import { BudgetExceededError, createBudget, createPaidFetch, L402Error } from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type PaidApi, type PaidApiOptions, startPaidApi } from './support/paid-api.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function paidApi(options?: PaidApiOptions): Promise<PaidApi> {
  const api = await startPaidApi(options);
  closers.push(api.close);
  return api;
}

async function rejection(promise: Promise<unknown>): Promise<L402Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(L402Error);
  return error as L402Error;
}

function succeeded(network: { payments: readonly { state: string }[] }) {
  return network.payments.filter((payment) => payment.state === 'succeeded').length;
}

describe('issue 11 item 6: spelling one host several ways opens no new per-host bucket or token', () => {
  it('refuses a second payment to localhost and [::ffff:7f00:1] once 127.0.0.1 used the per-host cap', async () => {
    const api = await paidApi();
    const port = new URL(api.url).port;
    // 10 sats plus at most 1.1 sats of fee fit once in 15 sats per host.
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget: createBudget({ maxSats: 1_000, maxSatsPerHost: 15 }),
      policy: loopbackPolicy,
    });
    const first = await paidFetch(`http://127.0.0.1:${port}/a`);
    expect(first.l402.paid).toBe(true);
    for (const url of [
      `http://localhost:${port}/b`,
      `http://[::ffff:7f00:1]:${port}/c`,
      `http://[::ffff:127.0.0.1]:${port}/d`,
    ]) {
      const error = await rejection(paidFetch(url));
      expect(error).toBeInstanceOf(BudgetExceededError);
      expect(error.paid).toBe(false);
      expect(error.message).toMatch(/per-host limit 15 sats for localhost/);
    }
    expect(succeeded(api.network)).toBe(1);
    expect(paidFetch.budget.status().perHost).toEqual({ localhost: 10_000n });
  });

  it('reuses the token bought at 127.0.0.1 for the same resource at [::ffff:7f00:1]', async () => {
    const api = await paidApi();
    const port = new URL(api.url).port;
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    expect((await paidFetch(`http://127.0.0.1:${port}/a`)).l402.paid).toBe(true);
    const again = await paidFetch(`http://[::ffff:7f00:1]:${port}/a`);
    expect(again.status).toBe(200);
    expect(again.l402).toMatchObject({ paid: false, usedCachedToken: true });
    expect(succeeded(api.network)).toBe(1);
  });
});
