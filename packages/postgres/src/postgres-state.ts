import type { SpendLedger, SpendLog } from '@l402kit/core';
import { connect, createPool, describeDatabaseUrl, type PostgresOptions } from './connection.js';
import { createPostgresLedger } from './postgres-ledger.js';
import { createPostgresSpendLog } from './postgres-spend-log.js';
import { PostgresTokenStore } from './postgres-token-store.js';
import { withClient } from './transaction.js';

export interface PostgresStateOptions extends PostgresOptions {
  /** Connections in the pool the ledger, token store and spend log share. Default 10. */
  maxConnections?: number;
  now?: () => number;
}

/** The ledger, token store and spend log on one pool, as the CLI and MCP server use them. */
export interface PostgresState {
  /** Where they live, safe to show: `postgres://user@host:5432/db (schema l402kit)`. */
  location: string;
  ledger: SpendLedger;
  tokenStore: PostgresTokenStore;
  spendLog: SpendLog;
  /** Ends the pool. */
  close(): Promise<void>;
}

/**
 * Opens l402kit's tables in the database at `url` (migrated by `migrate()` or
 * `l402kit db migrate`) on one pool. Checks the schema at once, so that a database that cannot
 * be reached, or has no tables yet, fails here with `DatabaseUnavailableError` (saying what
 * to run) rather than at the first payment. No password or query of `url` is ever shown.
 */
export async function openPostgresState(
  url: string,
  options: PostgresStateOptions = {},
): Promise<PostgresState> {
  const where = describeDatabaseUrl(url);
  const pool = createPool(url, { max: options.maxConnections ?? 10 });
  const connection = connect(pool, options);
  try {
    await withClient(connection, 'open the l402kit tables', async () => {});
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return {
    location: `${where} (schema ${connection.schemaName})`,
    ledger: createPostgresLedger(pool, options),
    tokenStore: new PostgresTokenStore(pool, options),
    spendLog: createPostgresSpendLog(pool, options),
    close: () => pool.end(),
  };
}
