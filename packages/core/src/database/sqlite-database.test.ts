import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBudget } from '../budget/budget.js';
import { openSqliteLedger } from '../budget/sqlite-ledger.js';
import { DatabaseUnavailableError } from '../errors.js';
import { SqliteTokenStore } from '../tokens/sqlite-token-store.js';
import { loadSqlite, openSqliteDatabase } from './sqlite-database.js';

const { DatabaseSync: RawDatabase } = loadSqlite();

let directory: string;
let path: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'l402kit-db-'));
  path = join(directory, 'l402kit.db');
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function caught(fn: () => unknown): DatabaseUnavailableError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    return error as DatabaseUnavailableError;
  }
  throw new Error('expected a DatabaseUnavailableError');
}

describe('the l402kit database fails closed', () => {
  it('refuses a corrupt file, says nothing was paid and leaves the file as it was', async () => {
    const garbage = Buffer.from('not a database at all, but a file someone damaged'.repeat(100));
    await writeFile(path, garbage);
    const error = caught(() => openSqliteDatabase(path));
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', paid: false, amountMsat: 0n });
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/Nothing was paid/);
    expect(await readFile(path)).toEqual(garbage);
  });

  it('refuses another program’s SQLite database and one from a newer l402kit', async () => {
    const other = new RawDatabase(path);
    other.exec('CREATE TABLE photos (id INTEGER)');
    other.close();
    expect(caught(() => openSqliteDatabase(path)).message).toMatch(/not an l402kit database/);

    const newer = join(directory, 'newer.db');
    openSqliteDatabase(newer).close();
    const raw = new RawDatabase(newer);
    raw.exec('PRAGMA user_version = 99');
    raw.close();
    expect(caught(() => openSqliteDatabase(newer)).message).toMatch(/newer l402kit/);
  });

  it('refuses to reserve, claim or define while another process holds the write lock', async () => {
    const database = openSqliteDatabase(path, { busyTimeoutMs: 50 });
    const ledger = openSqliteLedger(database);
    const daily = createBudget({ name: 'daily', maxSats: 100, ledger });
    await daily.status();
    // Another process (here, another connection) holds a write transaction open.
    const holder = new RawDatabase(path);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const refused = await daily
        .reserve({ amountMsat: 1_000n, maxFeeMsat: 0n, host: 'a.test' })
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(DatabaseUnavailableError);
      expect(refused).toMatchObject({ paid: false });
      expect((refused as Error).message).toMatch(/locked/);
      const store = new SqliteTokenStore(database);
      await expect(store.delete('x')).rejects.toBeInstanceOf(DatabaseUnavailableError);
      await expect(
        createBudget({ name: 'weekly', maxSats: 1, ledger }).status(),
      ).rejects.toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    // Once the lock is gone the same handles work, and nothing was left reserved.
    expect(await daily.status()).toMatchObject({ reservedMsat: 0n, spentMsat: 0n });
    await (await daily.reserve({ amountMsat: 1_000n, maxFeeMsat: 0n, host: 'a.test' })).commit(0n);
    expect((await daily.status()).spentMsat).toBe(1_000n);
    database.close();
  });

  it('loads node:sqlite without printing its ExperimentalWarning', () => {
    const script = `
      import { openSqliteDatabase } from './packages/core/src/database/sqlite-database.ts';
      openSqliteDatabase(${JSON.stringify(path)}).close();
      process.emitWarning('other warnings still show');
    `;
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: new URL('../../../..', import.meta.url), encoding: 'utf8' },
    );
    expect(result.status).toBe(0);
    expect(result.stderr).not.toMatch(/ExperimentalWarning|SQLite is an experimental/);
    expect(result.stderr).toMatch(/other warnings still show/);
  });
});
