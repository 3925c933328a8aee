// Three worker processes, each with its own pool, share one daily budget and one token store
// in a real PostgreSQL (started by the test on loopback) and pay through one sandbox wallet
// served by this process. See test/reliability/fleet-crash.test.ts for SIGKILLs.
import { createBudget, createPaidFetch, BudgetExceededError } from '@l402kit/core';
import { createPostgresLedger, PostgresTokenStore } from '@l402kit/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../packages/postgres/src/test-support.js';
import {
  calls,
  eventually,
  FEE_MSAT,
  type Fleet,
  fleetBooks,
  PRICE_MSAT,
  startFleet,
  startWorker,
  type Worker,
} from './support/postgres-fleet.js';

const K = 20;
const RESOURCES = 50;
const CALLS = 1_000;

let database: TestDatabase;
beforeAll(async () => {
  database = await startTestDatabase();
}, 120_000);
afterAll(() => database?.close());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fleetOfThree() {
  const fleet = await startFleet(K, database);
  cleanups.push(fleet.close);
  const workers = Array.from({ length: 3 }, () => startWorker(fleet.env));
  for (const worker of workers) cleanups.push(() => worker.kill('SIGKILL'));
  await Promise.all(workers.map((worker) => worker.ready()));
  return { fleet, workers };
}

/** Sends the calls round-robin to the workers, all at once, and waits for every answer. */
async function run(
  fleet: Fleet,
  workers: Worker[],
  during?: (done: Promise<void>) => Promise<void>,
) {
  const urls = calls(fleet.api.url, CALLS, RESOURCES);
  workers.forEach((worker, index) => {
    worker.fetch(urls.filter((_, position) => position % workers.length === index));
  });
  const done = eventually(() => {
    const dead = workers.find((worker) => worker.child.exitCode !== null);
    if (dead) throw new Error(`a worker exited: ${dead.stderr().slice(-3000)}`);
    return workers.reduce((sum, worker) => sum + worker.outcomes.length, 0) === CALLS;
  });
  await Promise.all([done, during?.(done.catch(() => {}))]);
  return workers.flatMap((worker) => worker.outcomes);
}

/** What must hold after any run: nothing bought twice, nothing overspent, books = sandbox. */
async function expectExactBooks(fleet: Fleet) {
  const books = await fleetBooks(fleet);
  // Every payment the sandbox made is charged exactly once in the ledger...
  for (const payment of books.payments) {
    const charged = books.reservations.filter(
      (reservation) =>
        reservation.payment_hash === payment.paymentHash && reservation.state === 'committed',
    );
    expect(charged.map((reservation) => BigInt(reservation.spent_msat))).toEqual([
      payment.amountMsat + payment.feeMsat,
    ]);
  }
  expect(books.spentMsat).toBe(books.paidMsat);
  // ...and bought a resource no other payment bought: its token holds that payment's hash.
  const keys = books.payments.map(
    (payment) => books.tokens.find((token) => token.payment_hash === payment.paymentHash)?.key,
  );
  expect(keys.every((key) => key !== undefined)).toBe(true);
  expect(new Set(keys).size).toBe(books.payments.length);
  expect(books.spentMsat + books.reservedMsat + books.pendingMsat).toBeLessThanOrEqual(
    fleet.dailyMsat,
  );
  return books;
}

describe('a fleet of three workers sharing a PostgreSQL budget and token store', () => {
  it('makes exactly k payments for 1,000 concurrent calls over 50 resources, each resource bought once', async () => {
    const { fleet, workers } = await fleetOfThree();
    const outcomes = await run(fleet, workers);

    const books = await expectExactBooks(fleet);
    expect(books.payments).toHaveLength(K);
    expect(books.spentMsat).toBe(fleet.dailyMsat);
    expect(books.reservedMsat + books.pendingMsat).toBe(0n);
    expect(fleet.api.payer.balanceMsat).toBe(1_000_000_000n - BigInt(K) * (PRICE_MSAT + FEE_MSAT));
    // A resource was bought (every call for it answered 200) or refused by the budget with
    // nothing paid (every call for it); no other outcome.
    const bought = new Set(
      outcomes.filter((outcome) => outcome.paid).map((outcome) => outcome.url),
    );
    expect(bought.size).toBe(K);
    for (const outcome of outcomes) {
      if (bought.has(outcome.url)) expect(outcome).toMatchObject({ status: 200 });
      else expect(outcome.error).toMatchObject({ code: 'BUDGET_EXCEEDED', paid: false });
    }
  }, 120_000);

  it('pays each payment once and never overspends while backends are terminated mid-transaction', async () => {
    const { fleet, workers } = await fleetOfThree();
    let terminated = 0;
    const outcomes = await run(fleet, workers, async (done) => {
      let finished = false;
      const ending = done.finally(() => {
        finished = true;
      });
      while (!finished) {
        // One random worker connection at a time, mostly in the middle of its work.
        const killed = await fleet.pool.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE application_name = 'l402kit-fleet' AND state <> 'idle'
           ORDER BY random() LIMIT 1`,
        );
        terminated += killed.rowCount ?? 0;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      await ending;
    });
    expect(terminated).toBeGreaterThan(0);

    // Anything a dropped connection left open is settled through the wallet, once.
    const resolver = resolverOf(fleet);
    await resolver.resolvePending();
    const books = await expectExactBooks(fleet);
    // Every drop was ridden out: the same k payments as without them, nothing left open.
    expect(books.payments).toHaveLength(K);
    expect(
      books.reservations.filter((each) => each.state === 'reserved' || each.state === 'unknown'),
    ).toEqual([]);
    // Every call that got a 200 got the resource's one token; no call paid twice.
    const paidCalls = outcomes.filter((outcome) => outcome.paid);
    expect(new Set(paidCalls.map((outcome) => outcome.url)).size).toBe(paidCalls.length);
    for (const outcome of outcomes) {
      if (outcome.error)
        expect(outcome.error).toMatchObject({ code: 'BUDGET_EXCEEDED', paid: false });
    }
  }, 120_000);
});

describe('a worker killed right after its wallet paid', () => {
  it('leaves a payment the next worker needing the token resolves through the wallet and charges once', async () => {
    const fleet = await startFleet(5, database);
    cleanups.push(fleet.close);
    const env = { ...fleet.env, PAYMENT_TIMEOUT_MS: '300' };
    const dying = startWorker({ ...env, CRASH_AFTER_PAY: '1' });
    cleanups.push(() => dying.kill('SIGKILL'));
    await dying.ready();
    const url = `${fleet.api.url}/r/0`;
    dying.fetch([url]);
    await dying.exited;
    let books = await fleetBooks(fleet);
    expect(books.payments).toHaveLength(1);
    // Paid, but the worker died before it could record it: still held in full.
    expect(books).toMatchObject({ spentMsat: 0n, reservedMsat: PRICE_MSAT + FEE_MSAT });

    const [next, after] = [startWorker(env), startWorker(env)];
    cleanups.push(
      () => next.kill('SIGKILL'),
      () => after.kill('SIGKILL'),
    );
    await Promise.all([next.ready(), after.ready()]);
    next.fetch([url]);
    await eventually(() => next.outcomes.length === 1);
    expect(next.outcomes[0]).toMatchObject({ status: 200, paid: false });
    after.fetch([url]);
    await eventually(() => after.outcomes.length === 1);
    expect(after.outcomes[0]).toMatchObject({ status: 200, paid: false });

    books = await expectExactBooks(fleet);
    expect(books.payments).toHaveLength(1);
    expect(books).toMatchObject({
      spentMsat: PRICE_MSAT + FEE_MSAT,
      reservedMsat: 0n,
      pendingMsat: 0n,
    });
    expect(books.tokens).toEqual([
      {
        key: expect.stringContaining('/r/0'),
        payment_hash: books.payments[0]!.paymentHash,
        state: 'paid',
      },
    ]);
  }, 60_000);
});

describe('a per-run budget in memory under a shared daily budget in PostgreSQL', () => {
  it('holds both limits', async () => {
    const fleet = await startFleet(4, database);
    cleanups.push(fleet.close);
    const ledger = createPostgresLedger(fleet.pool, { schema: fleet.schema });
    const tokenStore = new PostgresTokenStore(fleet.pool, { schema: fleet.schema });
    // 4 purchases a day for the fleet; each run may make at most 3.
    const daily = createBudget({ name: 'daily', maxMsat: fleet.dailyMsat, window: '24h', ledger });
    const paidFetch = createPaidFetch({
      wallet: fleet.api.payer.wallet,
      tokenStore,
      budget: daily,
      feeLimit: { baseMsat: FEE_MSAT, ppm: 0 },
      policy: { allowPrivateNetwork: true, requireHttps: false },
    });
    const runOne = daily.child({ name: 'run 1', maxMsat: 3n * (PRICE_MSAT + FEE_MSAT) });
    const runTwo = daily.child({ name: 'run 2', maxMsat: 3n * (PRICE_MSAT + FEE_MSAT) });
    const buy = (path: string, budget: typeof runOne) =>
      paidFetch(`${fleet.api.url}${path}`, { budget }).then(
        (response) => response.status,
        (error: unknown) => error,
      );
    expect(await buy('/a', runOne)).toBe(200);
    expect(await buy('/b', runOne)).toBe(200);
    expect(await buy('/c', runOne)).toBe(200);
    const perRun = await buy('/d', runOne);
    expect(perRun).toBeInstanceOf(BudgetExceededError);
    expect((perRun as Error).message).toMatch(/budget "run 1"/);
    expect(await buy('/e', runTwo)).toBe(200);
    const shared = await buy('/f', runTwo);
    expect(shared).toBeInstanceOf(BudgetExceededError);
    expect((shared as Error).message).toMatch(/budget "daily"/);
    expect(await daily.status()).toMatchObject({ spentMsat: fleet.dailyMsat, remainingMsat: 0n });
    expect(await runOne.status()).toMatchObject({ spentMsat: 3n * (PRICE_MSAT + FEE_MSAT) });
    expect(fleet.api.network.payments.filter((each) => each.state === 'succeeded')).toHaveLength(4);
  });
});

/** A paid fetch in this process on the fleet's ledger and store, to resolve what was left pending. */
function resolverOf(fleet: Fleet) {
  const ledger = createPostgresLedger(fleet.pool, { schema: fleet.schema });
  return createPaidFetch({
    wallet: fleet.api.payer.wallet,
    tokenStore: new PostgresTokenStore(fleet.pool, { schema: fleet.schema }),
    budget: createBudget({ name: 'daily', maxMsat: fleet.dailyMsat, window: '24h', ledger }),
    policy: { allowPrivateNetwork: true, requireHttps: false },
  });
}
