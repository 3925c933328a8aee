// The rest of issue 3 against a real paywall on loopback: receipts, quote(), events, the
// spend log, per-call caps, run budgets, re-buying a rejected token, PaidNotDeliveredError,
// abort signals, and errors/events/logs that never hold a secret.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  BudgetExceededError,
  createBudget,
  createPaidFetch,
  createSpendLog,
  type L402Error,
  MemoryTokenStore,
  type PaidFetchEvent,
  PaidNotDeliveredError,
  type PayInvoiceRequest,
  PaymentOutcomeUnknownError,
  PriceAboveCapError,
  RequestFailedError,
  type Wallet,
  withBudget,
} from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type PaidApi, type PaidApiOptions, startPaidApi } from './support/paid-api.js';
import { spyWallet } from './support/spy-wallet.js';
import { rejection } from './support/outcomes.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function paidApi(options?: PaidApiOptions): Promise<PaidApi> {
  const api = await startPaidApi(options);
  cleanups.push(api.close);
  return api;
}

async function temporaryFile(name: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'l402kit-paid-fetch-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return join(directory, name);
}

const withAmounts = (_key: string, value: unknown) =>
  typeof value === 'bigint' ? value.toString() : value;

describe('receipts', () => {
  it('say what each call paid, and whether a cached token was used', async () => {
    const api = await paidApi({
      network: { feeBaseMsat: 7n },
      paywall: { price: (request) => (new URL(request.url).pathname === '/free' ? 0 : 10) },
    });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    const bought = await paidFetch(`${api.url}/a?q=secret`);
    expect(bought.l402).toEqual({
      url: `${api.url}/a`,
      paid: true,
      usedCachedToken: false,
      amountMsat: 10_000n,
      feeMsat: 7n,
      paymentHash: api.network.payments[0]?.paymentHash,
    });
    expect((await paidFetch(`${api.url}/a`)).l402).toMatchObject({
      paid: false,
      usedCachedToken: true,
      amountMsat: 0n,
      feeMsat: 0n,
      paymentHash: api.network.payments[0]?.paymentHash,
    });
    expect((await paidFetch(`${api.url}/free`)).l402).toEqual({
      url: `${api.url}/free`,
      paid: false,
      usedCachedToken: false,
      amountMsat: 0n,
      feeMsat: 0n,
    });
  });
});

describe('quote()', () => {
  it('tells the price, description and host without paying', async () => {
    const api = await paidApi({
      paywall: {
        price: (request) => (new URL(request.url).pathname === '/free' ? 0 : 21),
        description: 'one report',
      },
    });
    const events: PaidFetchEvent[] = [];
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      policy: loopbackPolicy,
      onEvent: (event) => events.push(event),
    });
    const quote = await paidFetch.quote(`${api.url}/report?key=secret`);
    expect(quote).toMatchObject({
      url: `${api.url}/report`,
      host: new URL(api.url).host,
      status: 402,
      priceMsat: 21_000n,
      priceSats: 21,
      description: 'one report',
    });
    expect(quote.invoiceExpiresAt?.getTime()).toBeGreaterThan(Date.now());
    expect(await paidFetch.quote(`${api.url}/free`)).toEqual({
      url: `${api.url}/free`,
      host: new URL(api.url).host,
      status: 200,
    });
    expect(api.network.payments).toHaveLength(0);
    expect(events.map((event) => event.type)).toEqual(['quote', 'quote']);
  });

  it('is refused by the policy like a fetch, with a typed error', async () => {
    const api = await paidApi();
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet });
    const error = await rejection(paidFetch.quote(`${api.url}/report`));
    expect(error.code).toBe('POLICY_DENIED');
    expect(await rejection(paidFetch.quote('not a url'))).toBeInstanceOf(RequestFailedError);
    expect(api.requests).toHaveLength(0);
  });
});

describe('events and spend log', () => {
  it('report payments, reused tokens, refusals, unknown outcomes and their resolution', async () => {
    const api = await paidApi();
    const events: PaidFetchEvent[] = [];
    const spendLog = createSpendLog(await temporaryFile('spend.jsonl'));
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget: createBudget({ maxSats: 1_000 }),
      policy: loopbackPolicy,
      paymentTimeoutMs: 20,
      spendLog,
      onEvent: (event) => {
        events.push(event);
        throw new Error('a failing observer changes nothing');
      },
    });
    await paidFetch(`${api.url}/a`);
    await paidFetch(`${api.url}/a`);
    await rejection(paidFetch(`${api.url}/pricey`, { maxSats: 1 }));
    api.payer.injectFault({ kind: 'no-route' });
    await rejection(paidFetch(`${api.url}/no-route`));
    api.payer.injectFault({ kind: 'hang-then-settle' });
    await rejection(paidFetch(`${api.url}/slow`));
    api.network.settlePending();
    await paidFetch.resolvePending();

    expect(events.map((event) => event.type)).toEqual([
      'payment',
      'token-reused',
      'denied',
      'error',
      'payment-unknown',
      'error',
      'pending-resolved',
    ]);
    expect(events[0]).toMatchObject({ url: `${api.url}/a`, amountMsat: 10_000n, feeMsat: 0n });
    expect(events[2]).toMatchObject({ error: { code: 'PRICE_ABOVE_CAP' } });
    expect(events[3]).toMatchObject({ error: { code: 'NO_ROUTE', paid: false } });
    expect(events[5]).toMatchObject({ error: { code: 'PAYMENT_OUTCOME_UNKNOWN' } });
    expect(events[6]).toMatchObject({ outcome: 'paid', url: `${api.url}/slow` });

    const entries = await spendLog.read();
    expect(entries.map((entry) => [entry.url, entry.outcome, entry.amountMsat])).toEqual([
      [`${api.url}/a`, 'paid', 10_000n],
      [`${api.url}/no-route`, 'failed', 10_000n],
      [`${api.url}/slow`, 'unknown', 10_000n],
      [`${api.url}/slow`, 'resolved-paid', 10_000n],
    ]);
  });
});

describe('caps and budgets per call', () => {
  it('a per-call maxSats only lowers the cap, never raises it', async () => {
    const api = await paidApi();
    const capped = createPaidFetch({
      wallet: api.payer.wallet,
      policy: { ...loopbackPolicy, maxSatsPerRequest: 5 },
    });
    expect(await rejection(capped(`${api.url}/a`, { maxSats: 100 }))).toBeInstanceOf(
      PriceAboveCapError,
    );
    const roomy = createPaidFetch({
      wallet: api.payer.wallet,
      policy: { ...loopbackPolicy, maxSatsPerRequest: 100 },
    });
    expect(await rejection(roomy(`${api.url}/a`, { maxSats: 9.999 }))).toBeInstanceOf(
      PriceAboveCapError,
    );
    expect((await roomy(`${api.url}/a`, { maxSats: 10 })).l402.paid).toBe(true);
    expect(await rejection(roomy(`${api.url}/b`, { maxSats: -1 }))).toBeInstanceOf(
      RequestFailedError,
    );
    expect(api.network.payments).toHaveLength(1);
  });

  it('charges a run budget (withBudget) and a per-call budget as well as its own', async () => {
    const api = await paidApi();
    const daily = createBudget({ name: 'daily', maxSats: 1_000 });
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget: daily,
      policy: loopbackPolicy,
    });
    const run = daily.child({ name: 'run', maxSats: 15 });
    await withBudget(run, () => paidFetch(`${api.url}/a`));
    expect(await rejection(withBudget(run, () => paidFetch(`${api.url}/b`)))).toBeInstanceOf(
      BudgetExceededError,
    );
    const perCall = createBudget({ name: 'tool call', maxSats: 11.1 });
    await paidFetch(`${api.url}/c`, { budget: perCall });
    expect((await run.status()).spentMsat).toBe(10_000n);
    expect((await perCall.status()).spentMsat).toBe(10_000n);
    // The run budget is a child of the daily one: charged once there, not twice.
    expect((await daily.status()).spentMsat).toBe(20_000n);
  });
});

describe('a cached token the server no longer accepts', () => {
  it('is dropped and the resource bought once more, within the budget', async () => {
    let now = new Date();
    const api = await paidApi({ paywall: { validForSeconds: 60, now: () => now } });
    const budget = createBudget({ maxSats: 1_000 });
    const tokenStore = new MemoryTokenStore();
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget,
      tokenStore,
      policy: loopbackPolicy,
    });
    await paidFetch(`${api.url}/a`);
    const [first] = await tokenStore.list();
    // The server's clock moves past the token's validity; the client's has not.
    now = new Date(now.getTime() + 120_000);
    const response = await paidFetch(`${api.url}/a`);
    expect(response.status).toBe(200);
    expect(response.l402).toMatchObject({ paid: true, usedCachedToken: false });
    expect(api.network.payments).toHaveLength(2);
    expect((await budget.status()).spentMsat).toBe(20_000n);
    const tokens = await tokenStore.list();
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.paymentHash).not.toBe(first?.paymentHash);
  });
  it('is bought once more for many concurrent callers holding it, not once per caller', async () => {
    let now = new Date();
    const api = await paidApi({
      paywall: { validForSeconds: 60, now: () => now },
      network: { latencyMs: 5 },
    });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    await paidFetch(`${api.url}/a`);
    now = new Date(now.getTime() + 120_000);
    const responses = await Promise.all(
      Array.from({ length: 30 }, () => paidFetch(`${api.url}/a`)),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(api.network.payments).toHaveLength(2);
  });
});

describe('paid but not delivered', () => {
  it('keeps the token after a 500, so the next call gets the content without paying', async () => {
    let failures = 1;
    const api = await paidApi({
      handler: () =>
        failures-- > 0 ? new Response('down', { status: 503 }) : new Response('content'),
    });
    const budget = createBudget({ maxSats: 1_000 });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, budget, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${api.url}/a`));
    expect(error).toBeInstanceOf(PaidNotDeliveredError);
    expect(error).toMatchObject({ paid: true, amountMsat: 10_000n, status: 503 });
    const response = await paidFetch(`${api.url}/a`);
    expect(await response.text()).toBe('content');
    expect(response.l402.usedCachedToken).toBe(true);
    expect(api.network.payments).toHaveLength(1);
    expect((await budget.status()).spentMsat).toBe(10_000n);
  });
});

describe('abort signal', () => {
  it('an already aborted call sends nothing and pays nothing', async () => {
    const api = await paidApi();
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${api.url}/a`, { signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error.paid).toBe(false);
    expect(api.network.payments).toHaveLength(0);
  });

  it('aborting while the operator decides stops the payment and releases the budget', async () => {
    const api = await paidApi();
    const controller = new AbortController();
    const budget = createBudget({ maxSats: 1_000 });
    const wallet = spyWallet(api.payer.wallet);
    const paidFetch = createPaidFetch({
      wallet,
      budget,
      policy: {
        ...loopbackPolicy,
        approve: () => {
          controller.abort();
          return true;
        },
      },
    });
    const error = await rejection(paidFetch(`${api.url}/a`, { signal: controller.signal }));
    expect(error).toMatchObject({ code: 'REQUEST_FAILED', paid: false });
    expect(wallet.calls).toHaveLength(0);
    expect(await budget.status()).toMatchObject({
      spentMsat: 0n,
      reservedMsat: 0n,
      pendingMsat: 0n,
    });
  });

  it('aborting while the wallet pays leaves the outcome unknown and counted', async () => {
    const api = await paidApi();
    api.payer.injectFault({ kind: 'hang-then-settle' });
    const budget = createBudget({ maxSats: 1_000 });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, budget, policy: loopbackPolicy });
    const controller = new AbortController();
    const call = paidFetch(`${api.url}/a`, { signal: controller.signal });
    while (api.network.payments.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const error = await rejection(call);
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect((await budget.status()).pendingMsat).toBe(11_100n);
  });

  it('stops waiting for a wallet that ignores the signal, and records its late answer', async () => {
    const api = await paidApi();
    let release: () => void = () => {};
    const calls: PayInvoiceRequest[] = [];
    // Pays only when told to, whatever the signal says, and cannot be asked afterwards.
    const stubborn: Wallet = {
      name: 'stubborn',
      network: 'regtest',
      payInvoice: (request) => {
        calls.push(request);
        return new Promise((resolve, reject) => {
          release = () => {
            const { signal: _ignored, ...rest } = request;
            api.payer.wallet.payInvoice(rest).then(resolve, reject);
          };
        });
      },
    };
    const budget = createBudget({ maxSats: 1_000 });
    const paidFetch = createPaidFetch({ wallet: stubborn, budget, policy: loopbackPolicy });
    const controller = new AbortController();
    const call = paidFetch(`${api.url}/a`, { signal: controller.signal });
    while (calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const error = await rejection(call);
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect((await budget.status()).pendingMsat).toBe(11_100n);

    release();
    while ((await budget.status()).pendingMsat > 0n)
      await new Promise((resolve) => setImmediate(resolve));
    expect((await budget.status()).spentMsat).toBe(10_000n);
    const response = await paidFetch(`${api.url}/a`);
    expect(response.l402).toMatchObject({ paid: false, usedCachedToken: true });
    expect(api.network.payments).toHaveLength(1);
  });

  it('a caller waiting on another caller’s purchase can stop waiting; the purchase goes on', async () => {
    const api = await paidApi();
    api.payer.injectFault({ kind: 'hang-then-settle' });
    let challenges = 0;
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      policy: loopbackPolicy,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (response.status === 402) challenges++;
        return response;
      },
    });
    const first = paidFetch(`${api.url}/a`);
    while (api.network.payments.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const controller = new AbortController();
    const second = paidFetch(`${api.url}/a`, { signal: controller.signal });
    // The second call has its 402 and joins the hung purchase; it must not wait for it.
    while (challenges < 2) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect(await rejection(second)).toMatchObject({ code: 'REQUEST_FAILED', paid: false });
    api.network.settlePending();
    expect((await first).l402.paid).toBe(true);
    expect(api.network.payments).toHaveLength(1);
  });
});

describe('secrets', () => {
  it('never appear in errors, events, receipts or the spend log', async () => {
    const api = await paidApi({
      handler: (request) =>
        new URL(request.url).pathname === '/broken'
          ? new Response('down', { status: 500 })
          : new Response('ok'),
    });
    const events: PaidFetchEvent[] = [];
    const tokenStore = new MemoryTokenStore();
    const logFile = await temporaryFile('spend.jsonl');
    const paidFetch = createPaidFetch({
      wallet: spyWallet(api.payer.wallet, {
        afterPay: (result) =>
          api.network.payments.length === 3 ? { ...result, preimage: 'ab'.repeat(32) } : result,
      }),
      tokenStore,
      policy: loopbackPolicy,
      spendLog: createSpendLog(logFile),
      onEvent: (event) => events.push(event),
    });
    const errors: L402Error[] = [];
    const receipt = (await paidFetch(`${api.url}/ok`)).l402;
    errors.push(await rejection(paidFetch(`${api.url}/broken`)));
    errors.push(await rejection(paidFetch(`${api.url}/mismatch`)));
    const secrets = (await tokenStore.list()).flatMap((token) => [
      token.macaroon,
      ...(token.preimage ? [token.preimage] : []),
    ]);
    for (const payment of api.network.payments) {
      const status = await api.payer.wallet.lookupPayment?.(payment.paymentHash);
      if (status?.state === 'succeeded') secrets.push(status.preimage);
    }
    expect(secrets.length).toBeGreaterThanOrEqual(5);

    const seen = [
      ...errors.flatMap((error) => [
        error.message,
        String(error),
        JSON.stringify(error),
        inspect(error, { depth: 5 }),
      ]),
      JSON.stringify(events, withAmounts),
      inspect(events, { depth: 5 }),
      JSON.stringify(receipt, withAmounts),
      JSON.stringify(await tokenStore.list(), withAmounts),
      await readFile(logFile, 'utf8'),
    ].join('\n');
    for (const secret of secrets) expect(seen).not.toContain(secret);
  });
});
