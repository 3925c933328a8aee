// Many concurrent calls under one budget, against a real paywall on loopback: the budget is
// never overspent, each resource is paid at most once, and the budget's books match the
// sandbox ledger to the msat, with and without injected faults.
import {
  BudgetExceededError,
  createBudget,
  createPaidFetch,
  L402Error,
  type PaidFetch,
  type PaidFetchEvent,
} from '@l402kit/core';
import type { SandboxPayment } from '@l402kit/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { type PaidApi, type PaidApiOptions, startPaidApi } from './support/paid-api.js';

const RESOURCES = 50;
const CALLS = 1_000;
const PURCHASES = 17;
const PRICE_MSAT = 10_000n;
const FEE_MSAT = 500n;
// The fee limit equals the network's fee, so a reservation costs exactly what a payment
// spends and the budget fits exactly PURCHASES payments in any interleaving. What is left
// over covers the price of one more but not its fee: a client that forgets fees pays it.
const COST_MSAT = PRICE_MSAT + FEE_MSAT;
const SPENT_MSAT = COST_MSAT * BigInt(PURCHASES);
const LIMIT_MSAT = SPENT_MSAT + PRICE_MSAT;

// The paywall signs a fresh invoice for each of the 1,000 unpaid requests: that, not the
// client, is what takes the time here, so the limit is generous.
let api: PaidApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** `latencyMs`: how long each payment takes, so that concurrent callers overlap with it. */
async function setUp(latencyMs: number, options: PaidApiOptions = {}, paymentTimeoutMs?: number) {
  api = await startPaidApi({
    network: { feeBaseMsat: FEE_MSAT, latencyMs },
    paywall: { price: PRICE_MSAT },
    ...options,
  });
  const budget = createBudget({ maxMsat: LIMIT_MSAT });
  const events: PaidFetchEvent[] = [];
  const paidFetch = createPaidFetch({
    wallet: api.payer.wallet,
    budget,
    policy: { allowPrivateNetwork: true, requireHttps: false },
    feeLimit: { baseMsat: FEE_MSAT, ppm: 0 },
    onEvent: (event) => events.push(event),
    ...(paymentTimeoutMs === undefined ? {} : { paymentTimeoutMs }),
  });
  return { api, budget, events, paidFetch };
}

/**
 * `calls` concurrent calls spread evenly over RESOURCES paths, the calls for one path started
 * one after another so that they reach the server while its purchase is in flight.
 */
async function burst(paidFetch: PaidFetch, url: string, calls = CALLS) {
  return Promise.all(
    Array.from({ length: calls }, (_, index) =>
      paidFetch(`${url}/resource/${Math.floor((index * RESOURCES) / calls)}`).then(
        async (response) => ({
          status: response.status,
          paid: response.l402.paid,
          body: await response.text(),
        }),
        (error: unknown) => {
          // Every failure is typed and says whether money moved.
          expect(error).toBeInstanceOf(L402Error);
          return { error: error as L402Error };
        },
      ),
    ),
  );
}

/** mulberry32: the same faults on every run. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function succeededPayments(payments: readonly SandboxPayment[]) {
  return payments.filter((payment) => payment.state === 'succeeded');
}

/** Payment hash -> resource path, from the purchase events (every payInvoice that may have paid reports one). */
function resourceOf(events: PaidFetchEvent[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const event of events) {
    if (event.type === 'payment' || event.type === 'payment-unknown') {
      paths.set(event.paymentHash, new URL(event.url).pathname);
    }
  }
  return paths;
}

async function expectBooksMatchLedger(api: PaidApi, budget: ReturnType<typeof createBudget>) {
  const spentOnLedger = succeededPayments(api.network.payments).reduce(
    (sum, payment) => sum + payment.amountMsat + payment.feeMsat,
    0n,
  );
  const status = await budget.status();
  expect(status.spentMsat).toBe(spentOnLedger);
  expect(status.spentMsat + status.reservedMsat + status.pendingMsat).toBeLessThanOrEqual(
    LIMIT_MSAT,
  );
  expect(api.payer.balanceMsat).toBe(100_000_000n - spentOnLedger - api.network.pendingMsat);
  expect(api.network.totalMsat()).toBe(api.network.fundedMsat);
}

describe('concurrency: 1,000 calls across 50 resources under a budget that fits exactly 17 purchases', () => {
  it('makes exactly 17 payments, never overspends and delivers every paid resource to all its callers', async () => {
    const { api, budget, events, paidFetch } = await setUp(300);
    const results = await burst(paidFetch, api.url);

    const payments = succeededPayments(api.network.payments);
    expect(api.network.payments).toHaveLength(PURCHASES);
    expect(payments).toHaveLength(PURCHASES);
    expect(await budget.status()).toMatchObject({
      spentMsat: SPENT_MSAT,
      reservedMsat: 0n,
      pendingMsat: 0n,
      remainingMsat: PRICE_MSAT,
    });
    await expectBooksMatchLedger(api, budget);

    // Each bought resource was paid once and delivered to all 20 of its callers.
    const bought = [...new Set(resourceOf(events).values())];
    expect(bought).toHaveLength(PURCHASES);
    for (const path of bought) expect(api.delivered.get(path)).toBe(CALLS / RESOURCES);
    expect(results.filter((result) => 'status' in result && result.status === 200)).toHaveLength(
      PURCHASES * (CALLS / RESOURCES),
    );
    expect(results.filter((result) => 'status' in result && result.paid)).toHaveLength(PURCHASES);
    const refused = results.filter((result) => 'error' in result);
    expect(refused).toHaveLength(CALLS - PURCHASES * (CALLS / RESOURCES));
    for (const result of refused) {
      expect(result.error).toBeInstanceOf(BudgetExceededError);
      expect(result.error.paid).toBe(false);
    }
  }, 120_000);
});

describe('concurrency with random faults: no route, hang then settle, hang then fail, 500 after payment', () => {
  it('still makes exactly 17 payments, at most one per resource, with books equal to the ledger', async () => {
    // The first paid request for each of the first three resources bought gets a 500; the
    // token is kept, so a later call gets the content without paying again.
    const failedOnce = new Set<string>();
    const { api, budget, events, paidFetch } = await setUp(
      20,
      {
        handler: (request) => {
          const path = new URL(request.url).pathname;
          if (failedOnce.size < 3 && !failedOnce.has(path)) {
            failedOnce.add(path);
            return new Response('upstream down', { status: 500 });
          }
          return new Response(`content of ${path}`);
        },
      },
      200,
    );
    // Each payment attempt draws its fault once: the first three get one of each kind, the
    // rest a fault with probability 3/8, from a seeded generator.
    type FaultKind = 'no-route' | 'hang-then-settle' | 'hang-then-fail';
    const kinds: FaultKind[] = ['no-route', 'hang-then-settle', 'hang-then-fail'];
    const random = seededRandom(0x1402);
    const drawn = new Map<string, FaultKind | undefined>();
    const faultOf = (paymentHash: string) => {
      if (!drawn.has(paymentHash)) {
        const draw = Math.floor(random() * 8);
        drawn.set(paymentHash, drawn.size < kinds.length ? kinds[drawn.size] : kinds[draw]);
      }
      return drawn.get(paymentHash);
    };
    for (const kind of kinds) {
      api.network.injectFault({
        kind,
        times: Number.POSITIVE_INFINITY,
        match: (attempt) => faultOf(attempt.paymentHash) === kind,
      });
    }

    const seen = new Set<string>();
    // One burst of 1,000, then a call per resource until the budget is used up.
    for (
      let round = 0;
      round < 20 && ((await budget.status()).remainingMsat ?? 0n) >= COST_MSAT;
      round++
    ) {
      const results = await burst(paidFetch, api.url, round === 0 ? CALLS : RESOURCES);
      for (const result of results) if ('error' in result) seen.add(result.error.code);
      // Every unknown outcome stays counted until the wallet reports it.
      await expectBooksMatchLedger(api, budget);
      api.network.resolvePending();
      await paidFetch.resolvePending();
      expect(await budget.status()).toMatchObject({ reservedMsat: 0n, pendingMsat: 0n });
      await expectBooksMatchLedger(api, budget);
    }
    expect(seen).toEqual(
      new Set(['BUDGET_EXCEEDED', 'NO_ROUTE', 'PAYMENT_OUTCOME_UNKNOWN', 'PAID_NOT_DELIVERED']),
    );

    // The budget is used up exactly: 17 payments, none twice for one resource.
    const payments = succeededPayments(api.network.payments);
    expect(payments).toHaveLength(PURCHASES);
    expect((await budget.status()).spentMsat).toBe(SPENT_MSAT);
    const paths = resourceOf(events);
    const paidPaths = payments.map((payment) => paths.get(payment.paymentHash));
    expect(paidPaths.every((path) => path !== undefined)).toBe(true);
    expect(new Set(paidPaths).size).toBe(PURCHASES);

    // Every paid resource is delivered from its token; nothing more is paid.
    const final = await Promise.all(
      paidPaths.map((path) => paidFetch(`${api.url}${path}`).then((response) => response.l402)),
    );
    expect(final.every((receipt) => receipt.usedCachedToken && !receipt.paid)).toBe(true);
    expect(succeededPayments(api.network.payments)).toHaveLength(PURCHASES);
    await expectBooksMatchLedger(api, budget);
  }, 120_000);
});
