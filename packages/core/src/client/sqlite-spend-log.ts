import type { SqliteDatabase } from '../database/sqlite-database.js';
import { type SpendLog, type SpendLogEntry, urlWithoutSecrets } from './spend-log.js';

interface EntryRow {
  time: string;
  url: string;
  amount_msat: bigint;
  fee_msat: bigint;
  payment_hash: string;
  outcome: string;
  description: string | null;
}

/**
 * The spend log as a table of the l402kit database. Like the file log it never rejects: a
 * failed write goes to `onError` (default: a process warning), as the budget, not the log,
 * is what enforces limits. No secret is stored: the URL loses its query and credentials.
 */
export function createSqliteSpendLog(
  database: SqliteDatabase,
  options: { onError?: (error: unknown) => void } = {},
): SpendLog {
  const onError =
    options.onError ??
    ((error: unknown) =>
      process.emitWarning(
        `l402kit could not append to the spend log in ${database.path}: ${(error as Error)?.message ?? String(error)}`,
      ));
  return {
    path: database.path,
    async append(entry: SpendLogEntry) {
      try {
        database.write(() => insertSpendLogRow(database, entry));
      } catch (error) {
        try {
          onError(error);
        } catch {}
      }
    },
    async read() {
      const rows = database.read(
        () =>
          database.statement('SELECT * FROM spend_log ORDER BY id').all() as unknown as EntryRow[],
      );
      return rows.map((row) => ({
        time: row.time,
        url: row.url,
        amountMsat: row.amount_msat,
        feeMsat: row.fee_msat,
        paymentHash: row.payment_hash,
        outcome: row.outcome,
        ...(row.description === null ? {} : { description: row.description }),
      }));
    },
  };
}

/**
 * Writes one spend-log row inside the caller's write transaction, the URL without its
 * secrets (as every spend log keeps it).
 */
export function insertSpendLogRow(database: SqliteDatabase, entry: SpendLogEntry): void {
  database
    .statement(
      `INSERT INTO spend_log (time, url, amount_msat, fee_msat, payment_hash, outcome, description)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      entry.time,
      urlWithoutSecrets(entry.url),
      entry.amountMsat,
      entry.feeMsat,
      entry.paymentHash,
      entry.outcome,
      entry.description ?? null,
    );
}
