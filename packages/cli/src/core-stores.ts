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
import type { CliIo } from './cli-io.js';
import { spendLogPath, tokenFilePath } from './paths.js';

export type { StoredToken, TokenStore };
export type { SpendLogEntry as SpendEntry } from '@l402kit/core';

/** Where every `l402kit` invocation (and the MCP server) keeps its state. */
export interface CliStores {
  /** What to show the operator: the database file, or the token file with --no-db. */
  path: string;
  tokenStore: TokenStore;
  spendLog: SpendLog;
  /** The durable ledger; absent with --no-db. */
  ledger?: SpendLedger;
  close(): void;
}

export interface StoreChoice {
  /** --db: another database file. */
  db?: string;
  /** --no-db (or L402KIT_NO_DB=1): the old token and spend-log files, budgets in memory. */
  noDb?: boolean;
}

/** ~/.l402kit/l402kit.db, or L402KIT_DB. */
export function databasePath(io: CliIo): string {
  return io.env.L402KIT_DB || join(io.home ?? homedir(), '.l402kit', 'l402kit.db');
}

/**
 * The l402kit database by default (the token and spend files of older versions are imported
 * into it once, said on stderr); the files themselves with --no-db.
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
