import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSpendLog } from '../client/spend-log.js';
import { insertSpendLogRow } from '../client/sqlite-spend-log.js';
import { FileTokenStore } from '../tokens/file-token-store.js';
import { insertLoopRow, insertTokenRow } from '../tokens/sqlite-token-store.js';
import type { SqliteDatabase } from './sqlite-database.js';

export interface LegacyFiles {
  /** A `FileTokenStore` file, e.g. ~/.l402kit/tokens.json. */
  tokenFile?: string;
  /** A JSONL spend log, e.g. ~/.l402kit/spend.jsonl. */
  spendLog?: string;
}

/**
 * Copies the tokens (pending ones included, so a payment in flight is never forgotten and
 * paid again), payment-loop records and spend-log entries of the files l402kit used before
 * the database into it, once per file: a file already imported is not read again. The files
 * are left in place. Returns one sentence per import, for stderr. A token file that cannot
 * be read stops the import (and the start) with `TokenStoreError`: it may hold pending
 * payments.
 */
export async function importLegacyFiles(
  database: SqliteDatabase,
  files: LegacyFiles,
  now: () => number = Date.now,
): Promise<string[]> {
  const done = (source: string) =>
    database.read(
      () => database.statement('SELECT 1 FROM imports WHERE source = ?').get(source) !== undefined,
    );
  const messages: string[] = [];

  if (files.tokenFile !== undefined && existsSync(files.tokenFile)) {
    const source = `tokens:${resolve(files.tokenFile)}`;
    if (!done(source)) {
      const store = new FileTokenStore(files.tokenFile);
      const tokens = await store.list();
      const loops = await store.listPaymentLoops();
      const summary = database.write(() => {
        let added = 0;
        // A token the database already has (written by a newer process) wins.
        for (const token of tokens) added += insertTokenRow(database, token, 'IGNORE');
        for (const loop of loops) insertLoopRow(database, loop, 'IGNORE');
        const pending = tokens.filter((token) => token.state === 'pending').length;
        const summary = `imported ${added} of ${tokens.length} tokens${pending > 0 ? ` (${pending} pending: resolved through the wallet before anything is paid)` : ''} from ${files.tokenFile}`;
        recordImport(database, source, summary, now());
        return summary;
      });
      messages.push(summary);
    }
  }

  if (files.spendLog !== undefined && existsSync(files.spendLog)) {
    const source = `spend-log:${resolve(files.spendLog)}`;
    if (!done(source)) {
      const entries = await createSpendLog(files.spendLog).read();
      const summary = database.write(() => {
        for (const entry of entries) insertSpendLogRow(database, entry);
        const summary = `imported ${entries.length} spend-log entries from ${files.spendLog}`;
        recordImport(database, source, summary, now());
        return summary;
      });
      messages.push(summary);
    }
  }
  return messages;
}

function recordImport(database: SqliteDatabase, source: string, summary: string, at: number) {
  database
    .statement('INSERT INTO imports (source, imported_at, summary) VALUES (?, ?, ?)')
    .run(source, at, summary);
}
