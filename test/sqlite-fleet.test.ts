// Four worker processes on one machine share a daily budget and the tokens in one l402kit
// SQLite database and pay through one sandbox wallet served by this process. See
// test/reliability/fleet-crash.test.ts for the same with SIGKILLs and restarts.
import { afterEach, describe, expect, it } from 'vitest';
import { calls, eventually, seededRandom, type Worker } from './support/fleet.js';
import {
  bookViolations,
  FEE_MSAT,
  PAYER_BALANCE_SATS,
  PRICE_MSAT,
  type SqliteFleet,
  sqliteFleetBooks,
  startSqliteFleet,
  startSqliteWorker,
} from './support/sqlite-fleet.js';

const K = 20;
const RESOURCES = 50;
const CALLS = 1_000;
const WORKERS = 4;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Sends the calls round-robin to the workers, all at once, and waits for every answer. */
async function run(fleet: SqliteFleet, workers: Worker[]) {
  const urls = calls(fleet.api.url, CALLS, RESOURCES, seededRandom(1));
  workers.forEach((worker, index) => {
    worker.fetch(urls.filter((_, position) => position % workers.length === index));
  });
  await eventually(() => {
    const dead = workers.find((worker) => !worker.alive());
    if (dead) throw new Error(`a worker exited: ${dead.stderr().slice(-3000)}`);
    return workers.reduce((sum, worker) => sum + worker.outcomes.length, 0) === CALLS;
  });
  return workers.flatMap((worker) => worker.outcomes);
}

describe('four processes sharing one SQLite database and a daily budget of exactly k purchases', () => {
  it('make exactly k payments for 1,000 concurrent calls over 50 resources, 0 msat overspent, books = sandbox', async () => {
    const fleet = await startSqliteFleet(K);
    cleanups.push(fleet.close);
    const workers = Array.from({ length: WORKERS }, () => startSqliteWorker(fleet));
    for (const worker of workers) cleanups.push(() => worker.kill('SIGKILL'));
    await Promise.all(workers.map((worker) => worker.ready()));

    const outcomes = await run(fleet, workers);

    const books = sqliteFleetBooks(fleet);
    expect(bookViolations(fleet, books)).toEqual([]);
    expect(books.payments).toHaveLength(K);
    expect(books).toMatchObject({ spentMsat: fleet.dailyMsat, reservedMsat: 0n, pendingMsat: 0n });
    expect(fleet.api.payer.balanceMsat).toBe(
      BigInt(PAYER_BALANCE_SATS) * 1_000n - BigInt(K) * (PRICE_MSAT + FEE_MSAT),
    );
    // A resource was bought (every call for it answered 200, one of them paid) or refused by
    // the budget with nothing paid (every call for it); no other outcome.
    const paidCalls = outcomes.filter((outcome) => outcome.paid);
    const bought = new Set(paidCalls.map((outcome) => outcome.url));
    expect(bought.size).toBe(K);
    expect(paidCalls).toHaveLength(K);
    for (const outcome of outcomes) {
      if (bought.has(outcome.url)) expect(outcome).toMatchObject({ status: 200 });
      else expect(outcome.error).toMatchObject({ code: 'BUDGET_EXCEEDED', paid: false });
    }
    // Work was spread: every process answered its share.
    for (const worker of workers) expect(worker.outcomes).toHaveLength(CALLS / WORKERS);
  }, 120_000);
});
