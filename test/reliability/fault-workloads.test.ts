// Randomized concurrent workloads against a real loopback paywall on a sandbox network, with
// injected faults (no route, hung payments that later settle or fail, slow payments, server 500
// after payment, aborted requests). After each workload the books must agree to the msat:
// the sandbox ledger, the budgets at every level, the spend log and what callers were told.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Budget,
  createBudget,
  createPaidFetch,
  createSpendLog,
  FileTokenStore,
  L402Error,
  MemoryTokenStore,
  type PaidFetchEvent,
  type PayInvoiceRequest,
  satsToMsat,
  type Wallet,
  withBudget,
} from '@l402kit/core';
import type { SandboxFault, SandboxFaultKind } from '@l402kit/sandbox';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startPaidApi } from '../support/paid-api.js';

interface Call {
  path: number;
  /** Index of the run budget it is charged to, or -1 for the shared budget only. */
  run: number;
  /** How the run budget reaches the paid fetch. */
  via: 'withBudget' | 'init';
  delayMs: number;
  abortAfterMs: number | undefined;
}

interface Workload {
  latencyMs: number;
  feeBaseMsat: number;
  feeRatePpm: number;
  paymentTimeoutMs: number;
  fileStore: boolean;
  /** Distinct prices in sats, so a payment's amount tells which path it bought. */
  prices: number[];
  /** Paths whose paid handler answers 500 (after the payment). */
  failing: boolean[];
  sharedMaxSats: number;
  runMaxSats: number[];
  faults: { kind: SandboxFaultKind; path: number; times: number; resolveAfterMs?: number }[];
  /** Hung payments settled or failed by hand while calls are running. */
  interventions: { afterMs: number; action: 'settle' | 'fail' }[];
  calls: Call[];
  /** How the payments still pending at the end are resolved. */
  finalAction: 'settle' | 'fail' | 'planned';
}

const faultKinds: SandboxFaultKind[] = ['no-route', 'hang-then-settle', 'hang-then-fail'];

const workloadArbitrary: fc.Arbitrary<Workload> = fc
  .record({
    latencyMs: fc.constantFrom(0, 0, 2, 10, 40),
    feeBaseMsat: fc.integer({ min: 0, max: 1_000 }),
    feeRatePpm: fc.integer({ min: 0, max: 5_000 }),
    paymentTimeoutMs: fc.integer({ min: 25, max: 120 }),
    fileStore: fc.boolean(),
    prices: fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 2, maxLength: 5 }),
    sharedMaxSats: fc.integer({ min: 10, max: 400 }),
    runMaxSats: fc.array(fc.integer({ min: 5, max: 250 }), { minLength: 1, maxLength: 3 }),
    finalAction: fc.constantFrom('settle' as const, 'fail' as const, 'planned' as const),
    interventions: fc.array(
      fc.record({
        afterMs: fc.integer({ min: 0, max: 150 }),
        action: fc.constantFrom('settle' as const, 'fail' as const),
      }),
      { maxLength: 3 },
    ),
    failingSeed: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    faultSeeds: fc.array(
      fc.record({
        kind: fc.constantFrom(...faultKinds),
        path: fc.nat(),
        times: fc.integer({ min: 1, max: 3 }),
        resolveAfterMs: fc.option(fc.integer({ min: 5, max: 200 }), { nil: undefined }),
      }),
      { maxLength: 4 },
    ),
    callSeeds: fc.array(
      fc.record({
        path: fc.nat(),
        run: fc.integer({ min: -1, max: 2 }),
        via: fc.constantFrom('withBudget' as const, 'init' as const),
        delayMs: fc.integer({ min: 0, max: 60 }),
        abortAfterMs: fc.option(fc.integer({ min: 0, max: 80 }), { nil: undefined, freq: 4 }),
      }),
      { minLength: 4, maxLength: 30 },
    ),
  })
  .map(({ failingSeed, faultSeeds, callSeeds, ...rest }) => ({
    ...rest,
    // One path in five fails after payment at most, so most purchases can deliver.
    failing: rest.prices.map((_, index) => failingSeed[index]! && index === 0),
    faults: faultSeeds.map(({ resolveAfterMs, ...fault }) => ({
      ...fault,
      path: fault.path % rest.prices.length,
      ...(resolveAfterMs === undefined ? {} : { resolveAfterMs }),
    })),
    calls: callSeeds.map((call) => ({
      ...call,
      path: call.path % rest.prices.length,
      run: call.run < 0 ? -1 : call.run % rest.runMaxSats.length,
    })),
  }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Committed, reserved and pending money must never exceed a level's limit. */
async function overspentLevels(budgets: Budget[]): Promise<string[]> {
  const problems: string[] = [];
  // All read at once, so the books are seen as they are at this moment.
  for (const status of await Promise.all(budgets.map((budget) => budget.status()))) {
    if (status.limitMsat === undefined) continue;
    const used = status.spentMsat + status.reservedMsat + status.pendingMsat;
    if (used > status.limitMsat) {
      problems.push(`${status.name}: ${used} msat used of ${status.limitMsat}`);
    }
  }
  return problems;
}

async function runWorkload(workload: Workload): Promise<void> {
  const priceOfPath = (path: string) => {
    const index = Number(path.split('/')[2]);
    return workload.prices[index] ?? 1;
  };
  const api = await startPaidApi({
    payerBalanceSats: 1_000_000,
    network: {
      latencyMs: workload.latencyMs,
      feeBaseMsat: BigInt(workload.feeBaseMsat),
      feeRatePpm: workload.feeRatePpm,
    },
    paywall: { price: (request: Request) => priceOfPath(new URL(request.url).pathname) },
    handler: (request) => {
      const index = Number(new URL(request.url).pathname.split('/')[2]);
      return workload.failing[index]
        ? new Response('broken after payment', { status: 500 })
        : new Response(`item ${index}`);
    },
  });
  const directory = await mkdtemp(join(tmpdir(), 'l402kit-reliability-'));
  const { network, payer } = api;
  const fundedMsat = payer.balanceMsat;
  const pathOfAmount = new Map(
    workload.prices.map((sats, index) => [satsToMsat(sats), `/item/${index}`]),
  );
  const faults: SandboxFault[] = [];

  try {
    const shared = createBudget({ name: 'shared', maxSats: workload.sharedMaxSats });
    const runs = workload.runMaxSats.map((maxSats, index) =>
      shared.child({ name: `run ${index}`, maxSats }),
    );
    const allBudgets = [shared, ...runs];
    const violations: string[] = [];
    const check = async (when: string) => {
      for (const problem of await overspentLevels(allBudgets)) {
        violations.push(`${when}: ${problem}`);
      }
    };
    // The moment money is about to move is when the books must already hold it.
    const wallet: Wallet = {
      ...payer.wallet,
      name: payer.wallet.name,
      network: payer.wallet.network,
      async payInvoice(request: PayInvoiceRequest) {
        await check('at payInvoice');
        return payer.wallet.payInvoice(request);
      },
      lookupPayment: (hash: string) => payer.wallet.lookupPayment!(hash),
    };
    const events: PaidFetchEvent[] = [];
    const spendLog = createSpendLog(join(directory, 'spend.jsonl'));
    const paidFetch = createPaidFetch({
      wallet,
      budget: shared,
      policy: { allowPrivateNetwork: true, requireHttps: false },
      tokenStore: workload.fileStore
        ? new FileTokenStore(join(directory, 'tokens.json'))
        : new MemoryTokenStore(),
      paymentTimeoutMs: workload.paymentTimeoutMs,
      spendLog,
      onEvent: (event) => {
        events.push(event);
        void check(`after ${event.type}`);
      },
    });

    for (const fault of workload.faults) {
      const amountMsat = satsToMsat(workload.prices[fault.path]!);
      faults.push(
        payer.injectFault({
          kind: fault.kind,
          times: fault.times,
          ...(fault.resolveAfterMs === undefined ? {} : { resolveAfterMs: fault.resolveAfterMs }),
          match: (attempt) => attempt.amountMsat === amountMsat,
        }),
      );
    }

    // Receipts: what each caller was told it paid (amount + fee, msat), and the payments whose
    // outcome a caller was told is unknown.
    let toldPaidMsat = 0n;
    const unknownHashes = new Set<string>();
    const unexpected: unknown[] = [];
    const sampler = setInterval(() => void check('sampled'), 2);
    const interventions = workload.interventions.map(async ({ afterMs, action }) => {
      await sleep(afterMs);
      if (action === 'settle') network.settlePending();
      else network.failPending();
    });
    await Promise.all([
      ...interventions,
      ...workload.calls.map(async (call) => {
        await sleep(call.delayMs);
        const controller = new AbortController();
        const timer =
          call.abortAfterMs === undefined
            ? undefined
            : setTimeout(() => controller.abort(), call.abortAfterMs);
        const run = call.run < 0 ? undefined : runs[call.run];
        const url = `${api.url}/item/${call.path}`;
        const go = () =>
          paidFetch(url, {
            signal: controller.signal,
            ...(run !== undefined && call.via === 'init' ? { budget: run } : {}),
          });
        try {
          const response =
            run !== undefined && call.via === 'withBudget' ? await withBudget(run, go) : await go();
          await response.arrayBuffer();
          if (response.l402.paid) toldPaidMsat += response.l402.amountMsat + response.l402.feeMsat;
        } catch (error) {
          if (!(error instanceof L402Error)) unexpected.push(error);
          else if (error.paid === true) toldPaidMsat += error.amountMsat ?? 0n;
          else if (error.paid === 'unknown' && error.paymentHash) {
            unknownHashes.add(error.paymentHash);
          }
        } finally {
          clearTimeout(timer);
        }
      }),
    ]);
    clearInterval(sampler);
    for (const fault of faults) fault.remove();

    expect(unexpected, 'every failure is a typed L402Error').toEqual([]);

    // While payments may still hang: every msat that left the wallet (settled or locked in
    // flight) is in a receipt, or in a payment its caller was told has an unknown outcome.
    for (const event of events) {
      if (event.type === 'payment-unknown') unknownHashes.add(event.paymentHash);
    }
    const movedMsat = fundedMsat - payer.balanceMsat;
    const unconfirmedMsat = network.payments
      .filter(
        (payment) =>
          payment.payer === payer.name &&
          payment.state !== 'failed' &&
          unknownHashes.has(payment.paymentHash),
      )
      .reduce((sum, payment) => sum + payment.amountMsat + payment.feeMsat, 0n);
    expect(movedMsat, 'receipts + unknown outcomes = ledger movement').toBe(
      toldPaidMsat + unconfirmedMsat,
    );
    expect(
      (await shared.status()).spentMsat + (await shared.status()).pendingMsat,
    ).toBeGreaterThanOrEqual(movedMsat);

    // Resolve what is left, by hand or as planned, and let timed payments finish.
    if (workload.finalAction === 'settle') network.settlePending();
    else if (workload.finalAction === 'fail') network.failPending();
    else network.resolvePending();
    for (let waited = 0; network.pendingMsat > 0n && waited < 2_000; waited += 5) await sleep(5);
    expect(network.pendingMsat).toBe(0n);
    await paidFetch.resolvePending();
    await check('after resolvePending');
    expect(violations, 'no budget level ever overspent').toEqual([]);

    // The ledger: each resource bought at most once (tokens never expire here).
    const succeeded = network.payments.filter(
      (payment) => payment.payer === payer.name && payment.state === 'succeeded',
    );
    const perPath = new Map<string, number>();
    for (const payment of succeeded) {
      const path = pathOfAmount.get(payment.amountMsat) ?? 'unknown';
      perPath.set(path, (perPath.get(path) ?? 0) + 1);
    }
    for (const [path, count] of perPath) expect(count, `payments for ${path}`).toBe(1);

    // Every msat that left the wallet is in the budgets, the spend log and what callers were told.
    const ledgerMsat = succeeded.reduce((sum, p) => sum + p.amountMsat + p.feeMsat, 0n);
    expect(fundedMsat - payer.balanceMsat).toBe(ledgerMsat);
    for (const budget of allBudgets) {
      expect((await budget.status()).reservedMsat, `${budget.name} reserved`).toBe(0n);
      expect((await budget.status()).pendingMsat, `${budget.name} pending`).toBe(0n);
    }
    expect((await shared.status()).spentMsat).toBe(ledgerMsat);
    let runSpent = 0n;
    for (const run of runs) runSpent += (await run.status()).spentMsat;
    expect(runSpent).toBeLessThanOrEqual(ledgerMsat);

    const logged = (await spendLog.read()).filter(
      (entry) => entry.outcome === 'paid' || entry.outcome === 'resolved-paid',
    );
    expect(new Set(logged.map((entry) => entry.paymentHash)).size).toBe(logged.length);
    expect(logged.reduce((sum, entry) => sum + entry.amountMsat + entry.feeMsat, 0n)).toBe(
      ledgerMsat,
    );

    const ledgerAmountOf = new Map(succeeded.map((p) => [p.paymentHash, p.amountMsat + p.feeMsat]));
    const resolvedPaid = events.filter(
      (event) => event.type === 'pending-resolved' && event.outcome === 'paid',
    ) as Extract<PaidFetchEvent, { type: 'pending-resolved' }>[];
    expect(new Set(resolvedPaid.map((event) => event.paymentHash)).size).toBe(resolvedPaid.length);
    const resolvedMsat = resolvedPaid.reduce(
      (sum, event) => sum + (ledgerAmountOf.get(event.paymentHash) ?? 0n),
      0n,
    );
    expect(toldPaidMsat + resolvedMsat, 'receipts + resolved pending = ledger').toBe(ledgerMsat);

    // No token lost: every bought resource opens again without a new payment.
    const before = network.payments.length;
    for (const path of perPath.keys()) {
      const index = Number(path.split('/')[2]);
      const response = await paidFetch(`${api.url}${path}`);
      await response.arrayBuffer();
      // A cached token's request is handed back as the server answered it.
      expect(response.status).toBe(workload.failing[index] ? 500 : 200);
      expect(response.l402.usedCachedToken).toBe(true);
    }
    expect(network.payments.length).toBe(before);
  } finally {
    for (const fault of faults) fault.remove();
    network.failPending();
    await api.close();
    await rm(directory, { recursive: true, force: true });
  }
}

describe('randomized concurrent workloads with injected faults', () => {
  it('never overspends a budget level, pays each resource at most once and accounts for every msat', async () => {
    await fc.assert(fc.asyncProperty(workloadArbitrary, runWorkload), {
      numRuns: Number(process.env.L402KIT_RELIABILITY_RUNS ?? 100),
      // Each run starts a server and waits on timers: shrinking a failure is slow but bounded.
      interruptAfterTimeLimit: 150_000,
      markInterruptAsFailure: false,
    });
  });
});
