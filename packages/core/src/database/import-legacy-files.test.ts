import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSpendLog } from '../client/spend-log.js';
import { TokenStoreError } from '../errors.js';
import { FileTokenStore } from '../tokens/file-token-store.js';
import { SqliteTokenStore } from '../tokens/sqlite-token-store.js';
import { type StoredToken, tokenTarget } from '../tokens/token-store.js';
import { importLegacyFiles } from './import-legacy-files.js';
import { openSqliteDatabase, type SqliteDatabase } from './sqlite-database.js';

function token(path: string, extra: Partial<StoredToken> = {}): StoredToken {
  return {
    ...tokenTarget(new URL(`https://api.example.com${path}`), 'GET'),
    scheme: 'L402',
    macaroon: 'AgEEbHNhdAJCAAD3',
    preimage: 'ab'.repeat(32),
    paymentHash: 'cd'.repeat(32),
    invoice: 'lnbcrt10n1example',
    amountMsat: 10_000n,
    feeMsat: 1n,
    state: 'paid',
    createdAt: 1_000,
    ...extra,
  };
}

let directory: string;
let database: SqliteDatabase;
let files: { tokenFile: string; spendLog: string };
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'l402kit-import-'));
  database = openSqliteDatabase(join(directory, 'l402kit.db'));
  files = { tokenFile: join(directory, 'tokens.json'), spendLog: join(directory, 'spend.jsonl') };
});
afterEach(async () => {
  database.close();
  await rm(directory, { recursive: true, force: true });
});

describe('importing the files of older l402kit versions', () => {
  it('copies tokens (a pending one included) and the spend log once, and leaves the files as they were', async () => {
    const pending = token('/pending', { state: 'pending', paymentHash: 'ef'.repeat(32) });
    delete pending.preimage;
    await new FileTokenStore(files.tokenFile).put(token('/paid'));
    await new FileTokenStore(files.tokenFile).put(pending);
    await createSpendLog(files.spendLog).append({
      time: new Date(0).toISOString(),
      url: 'https://api.example.com/pending',
      amountMsat: 10_000n,
      feeMsat: 0n,
      paymentHash: 'ef'.repeat(32),
      outcome: 'unknown',
    });
    const tokenFileBefore = await readFile(files.tokenFile);

    const messages = await importLegacyFiles(database, files);
    expect(messages).toEqual([
      expect.stringMatching(/^imported 2 of 2 tokens \(1 pending: resolved through the wallet/),
      expect.stringMatching(/^imported 1 spend-log entries/),
    ]);
    const store = new SqliteTokenStore(database);
    expect(await store.get(pending.key)).toMatchObject({
      state: 'pending',
      paymentHash: 'ef'.repeat(32),
    });
    expect(await store.get(token('/paid').key)).toMatchObject({
      state: 'paid',
      amountMsat: 10_000n,
    });
    expect(await readFile(files.tokenFile)).toEqual(tokenFileBefore);

    // Once only: a later start reads neither file again, even when they changed meanwhile.
    await new FileTokenStore(files.tokenFile).put(token('/later'));
    expect(await importLegacyFiles(database, files)).toEqual([]);
    expect(await store.get(token('/later').key)).toBeUndefined();
    const logged = database.read(() =>
      database.statement('SELECT count(*) AS count FROM spend_log').get(),
    ) as { count: bigint };
    expect(logged.count).toBe(1n);
  });

  it('keeps the token the database already holds for a key', async () => {
    await new SqliteTokenStore(database).put(token('/a', { paymentHash: '11'.repeat(32) }));
    await new FileTokenStore(files.tokenFile).put(token('/a', { paymentHash: '22'.repeat(32) }));
    expect(await importLegacyFiles(database, { tokenFile: files.tokenFile })).toEqual([
      expect.stringMatching(/^imported 0 of 1 tokens/),
    ]);
    expect((await new SqliteTokenStore(database).get(token('/a').key))?.paymentHash).toBe(
      '11'.repeat(32),
    );
  });

  it('stops at a token file it cannot read: nothing imported, nothing paid, retried at the next start', async () => {
    await writeFile(files.tokenFile, '{"format":"l402kit-tokens","version":1,"tokens":[{"key":');
    const error = await importLegacyFiles(database, files).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenStoreError);
    expect(error).toMatchObject({ paid: false });
    expect(await new SqliteTokenStore(database).list()).toEqual([]);
    // Repaired: imported then, as it was never recorded as done.
    await rm(files.tokenFile);
    await new FileTokenStore(files.tokenFile).put(token('/a'));
    expect(await importLegacyFiles(database, { tokenFile: files.tokenFile })).toEqual([
      expect.stringMatching(/^imported 1 of 1 tokens/),
    ]);
  });
});
