import { type SpendLog, type SpendLogEntry, urlWithoutSecrets } from '@l402kit/core';
import {
  type Connection,
  connect,
  describeDatabaseUrl,
  type PostgresOptions,
  type PostgresTarget,
} from './connection.js';
import { withClient } from './transaction.js';

export interface PostgresSpendLogOptions extends PostgresOptions {
  /** Called when an entry cannot be written. Default: a process warning. */
  onError?: (error: unknown) => void;
}

interface EntryRow {
  time: string;
  url: string;
  amount_msat: string;
  fee_msat: string;
  payment_hash: string;
  outcome: string;
  description: string | null;
}

/**
 * The spend log as a table in PostgreSQL, one for the whole fleet. Like every spend log it
 * never rejects: a failed write goes to `onError`, as the budget, not the log, enforces
 * limits. Entries from one process are written in call order. No secret is stored: the URL
 * loses its query and credentials.
 */
export function createPostgresSpendLog(
  target: PostgresTarget,
  options: PostgresSpendLogOptions = {},
): SpendLog & { close(): Promise<void> } {
  const connection: Connection = connect(target, options);
  const table = `${connection.schema}.spend_log`;
  const path = `${typeof target === 'string' ? describeDatabaseUrl(target) : 'PostgreSQL'} (schema ${connection.schemaName})`;
  const onError =
    options.onError ??
    ((error: unknown) =>
      process.emitWarning(
        `l402kit could not append to the spend log in ${path}: ${(error as Error)?.message ?? String(error)}`,
      ));
  let tail: Promise<unknown> = Promise.resolve();
  const write = async (entry: SpendLogEntry) => {
    try {
      await withClient(connection, 'append to the spend log', (client) =>
        client.query(
          `INSERT INTO ${table} (time, url, amount_msat, fee_msat, payment_hash, outcome, description)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            entry.time,
            urlWithoutSecrets(entry.url),
            entry.amountMsat.toString(),
            entry.feeMsat.toString(),
            entry.paymentHash,
            entry.outcome,
            entry.description ?? null,
          ],
        ),
      );
    } catch (error) {
      try {
        onError(error);
      } catch {}
    }
  };
  return {
    path,
    append(entry) {
      const written = tail.then(() => write(entry));
      tail = written;
      return written;
    },
    async read() {
      const rows = await withClient(connection, 'read the spend log', async (client) => {
        return (await client.query<EntryRow>(`SELECT * FROM ${table} ORDER BY id`)).rows;
      });
      return rows.map((row) => ({
        time: row.time,
        url: row.url,
        amountMsat: BigInt(row.amount_msat),
        feeMsat: BigInt(row.fee_msat),
        paymentHash: row.payment_hash,
        outcome: row.outcome,
        ...(row.description === null ? {} : { description: row.description }),
      }));
    },
    close: () => connection.close(),
  };
}
