// Worker processes share a daily budget of exactly k purchases and one token store, in one
// l402kit SQLite database (four workers on one machine, see test/sqlite-fleet.test.ts) or in a
// real PostgreSQL started on loopback (three workers on their own pools, as on three machines,
// see test/postgres-fleet.test.ts), while workers are killed with SIGKILL at random points and
// restarted on the same database: right after their wallet paid (before anything is
// recorded) and at random moments (mid-transaction, mid-request, while waiting for another's
// payment). A restarted worker takes over the unanswered calls of the one it replaces.
// Checked against the sandbox ledger: never two payments for one resource, no token lost,
// every payment charged once and nothing charged that was not paid, the limit never passed.
// L402KIT_CRASH_SEED replays a sequence.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../../packages/postgres/src/test-support.js';
import {
  bookViolations,
  calls,
  eventually,
  FEE_MSAT,
  type FleetBooks,
  PRICE_MSAT,
  seededRandom,
  type Worker,
} from '../support/fleet.js';
import { fleetBooks, startFleet, startWorker } from '../support/postgres-fleet.js';
import type { serveWallet } from '../support/wallet-server.js';
import { sqliteFleetBooks, startSqliteFleet, startSqliteWorker } from '../support/sqlite-fleet.js';

const K = 20;
const RESOURCES = 50;
const CALLS = 1_000;
/** Kills in one run: half after a payment, half at random moments. */
const KILLS = Number(process.env.L402KIT_CRASH_ITERATIONS ?? 8);
// Short, so that calls waiting for a dead worker's payment ask the wallet soon.
const PAYMENT_TIMEOUT_MS = '1500';

const seed = Number(process.env.L402KIT_CRASH_SEED ?? randomBytes(4).readUInt32BE());
const random = seededRandom(seed);

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fleet on one kind of database: its paid API, its workers and the books it left. */
interface CrashFleet {
  api: Awaited<ReturnType<typeof startSqliteFleet>>['api'];
  dailyMsat: bigint;
  worker(env: Record<string, string>): Worker;
  books(): Promise<FleetBooks>;
  close(): Promise<void>;
}
type WalletHooks = Parameters<typeof serveWallet>[1];

async function sqliteFleet(k: number, hooks: WalletHooks): Promise<CrashFleet> {
  const fleet = await startSqliteFleet(k, hooks);
  return {
    ...fleet,
    worker: (env) => startSqliteWorker(fleet, env),
    books: async () => sqliteFleetBooks(fleet),
  };
}

let database: TestDatabase | undefined;
afterAll(() => database?.close());

async function postgresFleet(k: number, hooks: WalletHooks): Promise<CrashFleet> {
  const fleet = await startFleet(k, database, hooks);
  return {
    ...fleet,
    worker: (env) => startWorker({ ...fleet.env, ...env }),
    books: () => fleetBooks(fleet),
  };
}

/** Workers in slots: a dead one is replaced on the same database and given its unanswered calls. */
function fleetOfWorkers(fleet: CrashFleet, WORKERS: number) {
  const slots: Worker[] = [];
  const retired: Worker[] = [];
  let killsAfterPay = Math.ceil(KILLS / 2);
  const start = () => {
    // Some workers die right after one of their first payments, until those kills are used up.
    const crashAfterPays = killsAfterPay > 0 && random() < 0.6 ? 1 + Math.floor(random() * 2) : 0;
    if (crashAfterPays > 0) killsAfterPay--;
    const worker = fleet.worker({
      PAYMENT_TIMEOUT_MS,
      ...(crashAfterPays > 0 ? { CRASH_AFTER_PAY: String(crashAfterPays) } : {}),
    });
    cleanups.push(() => worker.kill('SIGKILL'));
    return worker;
  };
  return {
    slots,
    retired,
    async startAll() {
      for (let slot = 0; slot < WORKERS; slot++) slots.push(start());
      await Promise.all(slots.map((worker) => worker.ready()));
    },
    /** Replaces every dead worker; returns how many were replaced. */
    async replaceDead(): Promise<number> {
      let replaced = 0;
      for (const [slot, worker] of slots.entries()) {
        if (worker.alive()) continue;
        retired.push(worker);
        const next = start();
        slots[slot] = next;
        replaced++;
        // Sent at once (stdin holds them until it reads): if it dies too, they pass on again.
        next.fetch(worker.unanswered());
        await next.ready().catch(() => {});
      }
      return replaced;
    },
    outcomes: () => [...retired, ...slots].flatMap((worker) => worker.outcomes),
  };
}

const backends = [
  { name: 'four processes sharing one SQLite database', workers: 4, start: sqliteFleet },
  {
    name: 'three processes on their own pools sharing one PostgreSQL',
    workers: 3,
    start: postgresFleet,
    setUp: async () => {
      database = await startTestDatabase();
    },
  },
];

describe.each(backends)(`SIGKILLs in a fleet of $name (seed ${seed})`, (backend) => {
  const WORKERS = backend.workers;
  beforeAll(async () => {
    await backend.setUp?.();
  }, 120_000);

  it('never pays twice, loses no token, charges every payment once and nothing more', async () => {
    // Random kills while payments are being made: some moments after a payment starts, a
    // random worker (the payer or one claiming, waiting or answering) dies.
    let randomKills = Math.floor(KILLS / 2);
    const history: string[] = [];
    let killRandomWorker = () => {};
    const fleet = await backend.start(K, {
      onPayStarted: () => {
        if (randomKills > 0 && random() < 0.25) {
          randomKills--;
          setTimeout(() => killRandomWorker(), random() * 40);
        }
      },
    });
    cleanups.push(fleet.close);
    const workers = fleetOfWorkers(fleet, WORKERS);
    killRandomWorker = () => {
      const alive = workers.slots.filter((worker) => worker.alive());
      const victim = alive[Math.floor(random() * alive.length)];
      if (victim === undefined) return;
      history.push(
        `kill ${workers.slots.indexOf(victim)} after ${workers.outcomes().length} answers`,
      );
      victim.kill('SIGKILL');
    };
    await workers.startAll();

    const urls = calls(fleet.api.url, CALLS, RESOURCES, random);
    workers.slots.forEach((worker, index) => {
      worker.fetch(urls.filter((_, position) => position % WORKERS === index));
    });

    // Every worker that died is replaced.
    let restarts = 0;
    await eventually(async () => {
      restarts += await workers.replaceDead();
      return workers.outcomes().length === CALLS;
    });
    const where = `seed ${seed}: ${restarts} restarts; ${history.join('; ')}`;
    expect(restarts, where).toBeGreaterThan(0);

    // Every call was answered with the resource or a typed refusal that nothing was paid; the
    // only other answer is an unknown outcome for a payment a dead worker left open.
    const outcomes = workers.outcomes();
    for (const outcome of outcomes) {
      if (outcome.status === 200) continue;
      expect(outcome.error?.code, where).toMatch(/^(BUDGET_EXCEEDED|PAYMENT_OUTCOME_UNKNOWN)$/);
      if (outcome.error?.code === 'BUDGET_EXCEEDED') expect(outcome.error.paid, where).toBe(false);
    }
    // Every payment bought one resource: the token it recorded (pending or paid) names it.
    const tokens = (await fleet.books()).tokens;
    const bought = fleet.api.network.payments
      .filter((payment) => payment.state === 'succeeded')
      .map((payment) => tokens.find((token) => token.payment_hash === payment.paymentHash));
    expect(
      bought.every((token) => token !== undefined),
      where,
    ).toBe(true);
    const boughtUrls = bought.map((token) => `${fleet.api.url}${token!.key.split(' ').at(-1)}`);
    expect(new Set(boughtUrls).size, where).toBe(boughtUrls.length);

    // A fresh process settles what the dead left open (as the CLI does at start) and asks for
    // each resource bought: each opens with its token, with no new payment.
    const paymentsBefore = fleet.api.network.payments.length;
    const last = fleet.worker({ PAYMENT_TIMEOUT_MS });
    cleanups.push(() => last.kill('SIGKILL'));
    await last.ready();
    last.fetch(boughtUrls);
    await eventually(() => last.outcomes.length === boughtUrls.length);
    for (const outcome of last.outcomes) {
      expect(outcome, where).toMatchObject({ status: 200, paid: false });
    }

    const books = await fleet.books();
    expect(bookViolations(fleet, books), where).toEqual([]);
    expect(books.payments.length, where).toBeLessThanOrEqual(K);
    // Nothing left reserved by the dead; what stays counted as pending is a payment the
    // wallet never saw (a worker killed between recording it and asking the wallet).
    expect(books.reservedMsat, where).toBe(0n);
    const seen = new Set(fleet.api.network.payments.map((payment) => payment.paymentHash));
    const open = books.reservations.filter((each) => each.state === 'unknown');
    expect(
      open.filter((each) => seen.has(each.payment_hash)),
      where,
    ).toEqual([]);
    expect(books.pendingMsat, where).toBe(BigInt(open.length) * (PRICE_MSAT + FEE_MSAT));
    // No new payment for anything already bought, and no payment left hanging.
    expect(
      fleet.api.network.payments
        .slice(paymentsBefore)
        .filter((payment) => payment.state === 'succeeded').length,
      where,
    ).toBe(0);
    expect(
      fleet.api.network.payments.filter((each) => each.state === 'pending'),
      where,
    ).toEqual([]);
  }, 120_000);
});
