import {
  DatabaseUnavailableError,
  createBudget,
  createMemoryLedger,
  LEDGER_OWNER,
  type LedgerReserveRequest,
  type SpendLedger,
} from '@l402kit/core';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresLedger } from './postgres-ledger.js';
import { migrate, SCHEMA_VERSION } from './schema.js';
import { poolLosingAnswers, startTestDatabase, type TestDatabase } from './test-support.js';

const host = 'api.example.com';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await startTestDatabase();
  pool = database.pool({ max: 20 });
}, 120_000);
afterAll(() => database?.close());

/** A ledger in a fresh, migrated schema, on an injected clock. */
async function freshLedger(options: { now?: () => number; on?: pg.Pool } = {}) {
  const schema = database.freshSchema();
  await migrate(options.on ?? pool, { schema });
  const clock = { now: Date.UTC(2026, 0, 1) };
  const now = options.now ?? (() => clock.now);
  return { schema, clock, ledger: createPostgresLedger(options.on ?? pool, { schema, now }) };
}

const pay = async (budget: ReturnType<typeof createBudget>, sats: number, fee = 0n) => {
  const reservation = await budget.reserve({
    amountMsat: BigInt(sats) * 1000n,
    maxFeeMsat: fee,
    host,
  });
  await reservation.commit(fee);
  return reservation;
};

describe('the PostgreSQL ledger', () => {
  it('keeps the books through a change of window, recounting what is inside the new one', async () => {
    const { clock, ledger } = await freshLedger();
    const level = createBudget({ name: 'team', maxSats: 100, ledger });
    await pay(level, 10);
    clock.now += 2 * HOUR;
    await pay(level, 20);
    await ledger.defineLevel({ name: 'team', limitMsat: 100_000n, windowMs: HOUR });
    expect((await ledger.books(['team']))[0]).toMatchObject({
      spentMsat: 20_000n,
      perHost: { [host]: 20_000n },
    });
    await ledger.defineLevel({ name: 'team', limitMsat: 100_000n });
    expect((await ledger.books(['team']))[0]?.spentMsat).toBe(30_000n);
  });

  it('gives the same answers and books as the memory ledger for any sequence of operations', async () => {
    const operation = fc.oneof(
      fc.record({
        kind: fc.constant('reserve' as const),
        levels: fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
        sats: fc.integer({ min: 0, max: 40 }),
        fee: fc.integer({ min: 0, max: 3_000 }),
        host: fc.constantFrom('one.example', 'two.example'),
      }),
      fc.record({
        kind: fc.constantFrom('commit' as const, 'release' as const, 'markUnknown' as const),
        which: fc.nat(),
        fee: fc.integer({ min: 0, max: 5_000 }),
      }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 * HOUR }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 25 }), async (operations) => {
        const clock = { now: Date.UTC(2026, 0, 1) };
        const memory = createMemoryLedger({ now: () => clock.now });
        const { ledger: postgres } = await freshLedger({ now: () => clock.now });
        const define = async (ledger: SpendLedger) => {
          await ledger.defineLevel({ name: 'a', limitMsat: 50_000n, perHostMsat: 30_000n });
          await ledger.defineLevel({ name: 'b', limitMsat: 80_000n, windowMs: HOUR });
          await ledger.defineLevel({ name: 'c', perRequestMsat: 25_000n, windowMs: 3 * HOUR });
        };
        await define(memory);
        await define(postgres);
        const ids: [string, string][] = [];
        for (const op of operations) {
          if (op.kind === 'tick') {
            clock.now += op.ms;
            continue;
          }
          if (op.kind === 'reserve') {
            const request: LedgerReserveRequest = {
              levels: op.levels,
              amountMsat: BigInt(op.sats) * 1000n,
              maxFeeMsat: BigInt(op.fee),
              host: op.host,
            };
            const [a, b] = [await memory.reserve(request), await postgres.reserve(request)];
            expect('refusal' in b ? b.refusal : undefined).toEqual(
              'refusal' in a ? a.refusal : undefined,
            );
            if ('entry' in a && 'entry' in b) ids.push([a.entry.id, b.entry.id]);
          } else if (ids.length > 0) {
            const [a, b] = ids[op.which % ids.length]!;
            const settle = (ledger: SpendLedger, id: string) =>
              op.kind === 'commit' ? ledger.commit(id, BigInt(op.fee)) : ledger[op.kind](id);
            expect(await settle(postgres, b)).toBe(await settle(memory, a));
          }
          expect(await postgres.books(['a', 'b', 'c'])).toEqual(
            await memory.books(['a', 'b', 'c']),
          );
        }
        expect((await postgres.openEntries()).length).toBe((await memory.openEntries()).length);
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it('lets many connections reserve against one level at once without ever passing its limit', async () => {
    const { schema } = await freshLedger();
    // Four workers, each with its own pool, and two budget chains sharing the daily level.
    const pools = Array.from({ length: 4 }, () => database.pool({ max: 4 }));
    const ledgers = pools.map((each) => createPostgresLedger(each, { schema }));
    await ledgers[0]!.defineLevel({ name: 'daily', limitMsat: 37_000n, windowMs: DAY });
    await ledgers[0]!.defineLevel({ name: 'team-a', limitMsat: 20_000n });
    await ledgers[0]!.defineLevel({ name: 'team-b' });
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        ledgers[index % 4]!.reserve({
          levels: index % 2 === 0 ? ['team-a', 'daily'] : ['team-b', 'daily'],
          amountMsat: 900n,
          maxFeeMsat: 100n,
          host,
        }),
      ),
    );
    const granted = outcomes.filter((outcome) => 'entry' in outcome);
    expect(granted).toHaveLength(37);
    const [daily, teamA, teamB] = await ledgers[1]!.books(['daily', 'team-a', 'team-b']);
    expect(daily!.reservedMsat).toBe(37_000n);
    expect(teamA!.reservedMsat).toBeLessThanOrEqual(20_000n);
    expect(teamA!.reservedMsat + teamB!.reservedMsat).toBe(37_000n);
    expect((await ledgers[2]!.openEntries()).length).toBe(37);
  }, 60_000);

  it('reserves each payment once when connections are terminated mid-transaction', async () => {
    const { schema, ledger } = await freshLedger();
    await ledger.defineLevel({ name: 'daily', limitMsat: 10_000n });
    const workers = database.pool({ max: 6, application_name: 'l402kit-victims' });
    const victims = createPostgresLedger(workers, { schema });
    // Holds the level's row lock, so that every reservation stops inside its transaction.
    const locker = await pool.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT * FROM "${schema}".ledger_levels FOR UPDATE`);
    const reserving = Array.from({ length: 6 }, () =>
      victims.reserve({ levels: ['daily'], amountMsat: 1_000n, maxFeeMsat: 0n, host }),
    );
    const waiting = async () =>
      Number(
        (
          await pool.query(
            `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'l402kit-victims' AND wait_event_type = 'Lock'`,
          )
        ).rows[0].count,
      );
    while ((await waiting()) < 6) await new Promise((resolve) => setTimeout(resolve, 10));
    const killed = await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'l402kit-victims'`,
    );
    expect(killed.rowCount).toBe(6);
    await locker.query('COMMIT');
    locker.release();
    const outcomes = await Promise.all(reserving);
    expect(outcomes.every((outcome) => 'entry' in outcome)).toBe(true);
    expect((await ledger.books(['daily']))[0]).toMatchObject({ reservedMsat: 6_000n });
    expect(await ledger.openEntries()).toHaveLength(6);
  }, 60_000);

  it('finds its own reservation instead of making a second one when the commit answer is lost', async () => {
    const { schema, ledger } = await freshLedger();
    await ledger.defineLevel({ name: 'daily', limitMsat: 10_000n });
    // The server commits, then the connection drops before the answer arrives.
    const flaky = poolLosingAnswers(pool, (text) => text === 'COMMIT');
    const outcome = await createPostgresLedger(flaky, { schema }).reserve({
      levels: ['daily'],
      amountMsat: 4_000n,
      maxFeeMsat: 0n,
      host,
    });
    expect('entry' in outcome).toBe(true);
    expect(await ledger.openEntries()).toHaveLength(1);
    expect((await ledger.books(['daily']))[0]?.reservedMsat).toBe(4_000n);
  });

  it('settles a reservation once whichever worker settles it, and finds it by payment hash', async () => {
    const { schema, ledger } = await freshLedger();
    const other = createPostgresLedger(database.pool(), { schema });
    await ledger.defineLevel({ name: 'daily', limitMsat: 10_000n });
    const paymentHash = 'ab'.repeat(32);
    const outcome = await ledger.reserve({
      levels: ['daily'],
      amountMsat: 5_000n,
      maxFeeMsat: 1_000n,
      host,
      paymentHash,
    });
    if (!('entry' in outcome)) throw new Error('refused');
    const [found] = await other.openEntries({ paymentHash });
    // The owner lets settleOpenReservations tell a dead process's reservation from a live one's.
    expect(found).toMatchObject({
      id: outcome.entry.id,
      state: 'reserved',
      amountMsat: 5_000n,
      owner: LEDGER_OWNER,
    });
    const results = await Promise.all([
      ledger.commit(found!.id, 200n),
      other.commit(found!.id, 200n),
      other.commit(found!.id, 200n),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await ledger.books(['daily']))[0]).toMatchObject({
      spentMsat: 5_200n,
      reservedMsat: 0n,
    });
    expect(await other.openEntries({ paymentHash })).toEqual([]);
  });
});

describe('the schema', () => {
  it('is created by migrate(), which records its version and is a no-op the second time', async () => {
    const schema = database.freshSchema();
    expect(await migrate(pool, { schema })).toEqual({ schema, from: 0, to: SCHEMA_VERSION });
    expect(await migrate(pool, { schema })).toEqual({
      schema,
      from: SCHEMA_VERSION,
      to: SCHEMA_VERSION,
    });
    const versions = await pool.query(
      `SELECT version FROM "${schema}".schema_version ORDER BY version`,
    );
    expect(versions.rows).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, index) => ({ version: index + 1 })),
    );
  });

  it('upgrades a schema an older version migrated, keeping its rows', async () => {
    const schema = database.freshSchema();
    await migrate(pool, { schema });
    const ledger = createPostgresLedger(pool, { schema });
    await ledger.defineLevel({ name: 'daily', limitMsat: 5_000n });
    // Back to version 1, as @l402kit/postgres 0.1 left it: no spend log.
    await pool.query(`DROP TABLE "${schema}".spend_log`);
    await pool.query(`DELETE FROM "${schema}".schema_version WHERE version > 1`);
    expect(await migrate(pool, { schema })).toEqual({ schema, from: 1, to: SCHEMA_VERSION });
    await pool.query(`SELECT count(*) FROM "${schema}".spend_log`);
    expect(
      (await createPostgresLedger(pool, { schema }).listLevels()).map((level) => level.name),
    ).toEqual(['daily']);
  });

  it('is required: without migrate() a reservation fails closed, saying what to run', async () => {
    const ledger = createPostgresLedger(pool, { schema: database.freshSchema() });
    const error = await ledger
      .reserve({ levels: ['daily'], amountMsat: 1n, maxFeeMsat: 0n, host })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', paid: false });
    expect(String((error as Error).message)).toMatch(/run migrate\(\) or `l402kit db migrate`/);
  });

  it('from a newer version is refused, not rewritten', async () => {
    const schema = database.freshSchema();
    await migrate(pool, { schema });
    await pool.query(`INSERT INTO "${schema}".schema_version (version) VALUES ($1)`, [
      SCHEMA_VERSION + 1,
    ]);
    await expect(migrate(pool, { schema })).rejects.toThrow(/newer than this l402kit/);
    const ledger = createPostgresLedger(pool, { schema });
    await expect(ledger.listLevels()).rejects.toThrow(/upgrade @l402kit\/postgres/);
  });

  it('rejects a schema name that is not a plain identifier', () => {
    expect(() => createPostgresLedger(pool, { schema: 'x"; DROP TABLE y; --' })).toThrow(
      RangeError,
    );
  });

  it('never shows the password of a connection string in an error', async () => {
    const url = new URL(database.url);
    url.password = 'hunter2-secret';
    const ledger = createPostgresLedger(url.href, { schema: database.freshSchema() });
    const error = (await ledger.listLevels().catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toMatch(/password authentication failed/);
    expect(`${error.message} ${String(error.stack)} ${JSON.stringify(error)}`).not.toContain(
      'hunter2',
    );
  });
});
