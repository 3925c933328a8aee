import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  createSpendLog,
  FileTokenStore,
  openDurableState,
  type SpendLedger,
  type SpendLog,
  type StoredToken,
  type TokenStore,
} from '@l402kit/core';
import { openDatabaseUrl } from '@l402kit/mcp';
import type { CliIo } from './cli-io.js';
import { spendLogPath, tokenFilePath } from './paths.js';
import { UsageError } from './usage-error.js';

export type { StoredToken, TokenStore };
export type { SpendLogEntry as SpendEntry } from '@l402kit/core';

/** Where every `l402kit` invocation (and the MCP server) keeps its state. */
export interface CliStores {
  /**
   * What to show the operator: the database file, the PostgreSQL database without its
   * password, or the token file with --no-db.
   */
  path: string;
  tokenStore: TokenStore;
  spendLog: SpendLog;
  /** The durable ledger; absent with --no-db. */
  ledger?: SpendLedger;
  close(): void | Promise<void>;
}

export interface StoreChoice {
  /** --db: another database file. */
  db?: string;
  /** --database-url (or L402KIT_DATABASE_URL): a PostgreSQL database instead of the file. */
  databaseUrl?: string;
  /** --no-db (or L402KIT_NO_DB=1): the old token and spend-log files, budgets in memory. */
  noDb?: boolean;
}

/** --database-url, or L402KIT_DATABASE_URL: budgets and tokens in PostgreSQL. */
export function databaseUrl(io: CliIo, choice: StoreChoice = {}): string | undefined {
  const url = choice.databaseUrl ?? io.env.L402KIT_DATABASE_URL;
  return url === undefined || url.trim() === '' ? undefined : url.trim();
}

/** ~/.l402kit/l402kit.db, or L402KIT_DB. */
export function databasePath(io: CliIo): string {
  return io.env.L402KIT_DB || join(io.home ?? homedir(), '.l402kit', 'l402kit.db');
}

/**
 * The l402kit database by default (the token and spend files of older versions are imported
 * into it once, said on stderr); a PostgreSQL database with --database-url; the files
 * themselves with --no-db.
 */
export async function openStores(io: CliIo, choice: StoreChoice = {}): Promise<CliStores> {
  if (choice.noDb || /^(1|true|yes|on)$/i.test(io.env.L402KIT_NO_DB?.trim() ?? '')) {
    const path = tokenFilePath(io);
    return {
      path,
      tokenStore: new FileTokenStore(path),
      spendLog: createSpendLog(spendLogPath(io)),
      close: () => {},
    };
  }
  const url = databaseUrl(io, choice);
  if (url !== undefined) {
    if (choice.db !== undefined || io.env.L402KIT_DB) {
      throw new UsageError(
        'give either --db (a SQLite file) or --database-url (PostgreSQL), not both',
      );
    }
    const database = await openDatabaseUrl(url);
    return { ...database, path: database.location };
  }
  const path = choice.db ?? databasePath(io);
  const state = await openDurableState({
    path,
    legacyFiles: { tokenFile: tokenFilePath(io), spendLog: spendLogPath(io) },
    log: (message) => io.stderr.write(`l402kit: ${message}\n`),
  });
  return {
    path,
    tokenStore: state.tokenStore,
    spendLog: state.spendLog,
    ledger: state.ledger,
    close: state.close,
  };
}
