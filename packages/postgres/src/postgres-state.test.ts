import { inspect } from 'node:util';
import { DatabaseUnavailableError, type SpendLogEntry } from '@l402kit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresState } from './postgres-state.js';
import { migrate } from './schema.js';
import { startTestDatabase, type TestDatabase } from './test-support.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await startTestDatabase();
}, 120_000);
afterAll(() => database?.close());

/** The database URL with this password, the schema in a query parameter a driver may echo. */
function urlWith(password: string): string {
  const url = new URL(database.url);
  url.password = password;
  url.search = '?application_name=l402kit-secret-query';
  return url.href;
}

function everythingShown(error: unknown): string {
  return `${String(error)} ${inspect(error, { depth: 5 })} ${JSON.stringify(error)}`;
}

const entry = (index: number, extra: Partial<SpendLogEntry> = {}): SpendLogEntry => ({
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
  url: `https://api.example/items/${index}`,
  amountMsat: 1_000n * BigInt(index),
  feeMsat: BigInt(index),
  paymentHash: index.toString(16).padStart(64, '0'),
  outcome: 'paid',
  ...extra,
});

describe('openPostgresState', () => {
  it('shares one pool for ledger, tokens and spend log, in the migrated schema', async () => {
    const schema = database.freshSchema();
    await migrate(database.url, { schema });
    const state = await openPostgresState(database.url, { schema });
    try {
      expect(state.location).toMatch(
        new RegExp(`^postgres://postgres@127\\.0\\.0\\.1:\\d+/postgres \\(schema ${schema}\\)$`),
      );
      await state.ledger.defineLevel({ name: 'daily', limitMsat: 10_000n, shared: true });
      const reservation = await state.ledger.reserve({
        levels: ['daily'],
        amountMsat: 4_000n,
        maxFeeMsat: 100n,
        host: 'api.example',
      });
      expect(reservation).toHaveProperty('entry.amountMsat', 4_000n);
      expect(await state.tokenStore.list()).toEqual([]);
    } finally {
      await state.close();
    }
  });

  it('keeps the spend log in call order, without URL secrets, for every process to read', async () => {
    const schema = database.freshSchema();
    await migrate(database.url, { schema });
    const writer = await openPostgresState(database.url, { schema });
    const reader = await openPostgresState(database.url, { schema });
    try {
      const entries = Array.from({ length: 40 }, (_, index) => entry(index + 1));
      entries[3] = entry(4, {
        url: 'https://user:pass@api.example/items/4?api_key=secret',
        outcome: 'unknown',
        description: 'a report',
      });
      // Not awaited one by one: the log must still keep them in call order.
      await Promise.all(entries.map((one) => writer.spendLog.append(one)));
      const read = await reader.spendLog.read();
      expect(read).toHaveLength(40);
      expect(read.map((one) => one.paymentHash)).toEqual(entries.map((one) => one.paymentHash));
      expect(read[3]).toEqual({ ...entries[3], url: 'https://api.example/items/4' });
      expect(read[39]).toEqual(entries[39]);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('fails closed at once, saying what to run, when the schema has no tables', async () => {
    const error = await openPostgresState(urlWith(new URL(database.url).password), {
      schema: database.freshSchema(),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', paid: false });
    expect((error as Error).message).toMatch(/`l402kit db migrate`/);
    expect(everythingShown(error)).not.toContain(new URL(database.url).password);
    expect(everythingShown(error)).not.toContain('secret-query');
  });

  it('never shows the password when it is wrong or the server cannot be reached', async () => {
    const wrong = await openPostgresState(urlWith('hunter2-wrong')).catch((caught) => caught);
    expect(wrong).toBeInstanceOf(DatabaseUnavailableError);
    expect((wrong as Error).message).toMatch(/password authentication failed/);
    const closed = new URL(urlWith('hunter2-closed'));
    closed.port = '1';
    const unreachable = await openPostgresState(closed.href).catch((caught) => caught);
    expect(unreachable).toMatchObject({ code: 'DATABASE_UNAVAILABLE', paid: false });
    for (const error of [wrong, unreachable]) {
      expect(everythingShown(error)).not.toContain('hunter2');
      expect(everythingShown(error)).not.toContain('secret-query');
    }
  });

  it('refuses a URL that is not postgres:// without repeating it', async () => {
    const error = await openPostgresState('mysql://root:hunter2@db/app').catch((caught) => caught);
    expect(error).toBeInstanceOf(RangeError);
    expect(everythingShown(error)).not.toContain('hunter2');
  });
});
