import { openSqliteLedger } from '../budget/sqlite-ledger.js';
import type { SpendLedger } from '../budget/spend-ledger.js';
import { createSqliteSpendLog } from '../client/sqlite-spend-log.js';
import type { SpendLog } from '../client/spend-log.js';
import { SqliteTokenStore } from '../tokens/sqlite-token-store.js';
import { importLegacyFiles, type LegacyFiles } from './import-legacy-files.js';
import {
  defaultDatabasePath,
  openSqliteDatabase,
  type SqliteDatabase,
  type SqliteDatabaseOptions,
} from './sqlite-database.js';

export interface DurableStateOptions extends SqliteDatabaseOptions {
  /** Default `defaultDatabasePath()`: `L402KIT_DB` or ~/.l402kit/l402kit.db. */
  path?: string;
  /** Files of older l402kit versions to import once (see `importLegacyFiles`). */
  legacyFiles?: LegacyFiles;
  /** Told what was imported, e.g. a line on stderr. */
  log?: (message: string) => void;
  now?: () => number;
}

/** The ledger, token store and spend log of one l402kit database, as the CLI and MCP server use them. */
export interface DurableState {
  database: SqliteDatabase;
  ledger: SpendLedger;
  tokenStore: SqliteTokenStore;
  spendLog: SpendLog;
  close(): void;
}

/** Opens the l402kit database and imports the old token and spend-log files once. */
export async function openDurableState(options: DurableStateOptions = {}): Promise<DurableState> {
  const path = options.path ?? defaultDatabasePath();
  const database = openSqliteDatabase(path, options);
  try {
    const now = options.now ?? Date.now;
    for (const message of await importLegacyFiles(database, options.legacyFiles ?? {}, now)) {
      options.log?.(
        `${message} into ${path}; the old file was left in place and is no longer read (delete it once you are happy)`,
      );
    }
    return {
      database,
      ledger: openSqliteLedger(database, { now }),
      tokenStore: new SqliteTokenStore(database, { now }),
      spendLog: createSqliteSpendLog(database),
      close: () => database.close(),
    };
  } catch (error) {
    database.close();
    throw error;
  }
}
