import { chmodSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { DatabaseUnavailableError } from '../errors.js';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';

export interface SqliteDatabaseOptions {
  /**
   * How long a write waits for another process's transaction before failing, in ms. Default
   * 5,000. Transactions are a few statements long, so a longer wait means something is stuck.
   */
  busyTimeoutMs?: number;
}

/**
 * One SQLite file holding the ledger, the tokens and the spend log, shared by every process
 * on the machine that opens it. Every write is one short `BEGIN IMMEDIATE` transaction,
 * synchronous from start to end, so nothing else runs in this process in between and other
 * processes wait for the lock (the busy timeout) instead of interleaving.
 */
export interface SqliteDatabase {
  readonly path: string;
  /** Runs `fn` in one write transaction; rolled back if it throws. */
  write<T>(fn: (db: DatabaseSync) => T): T;
  /** Runs `fn` for reading; a database that cannot be read becomes `DatabaseUnavailableError`. */
  read<T>(fn: (db: DatabaseSync) => T): T;
  /** A prepared statement reading integers as bigint, cached by its SQL. */
  statement(sql: string): StatementSync;
  close(): void;
}

/** `~/.l402kit/l402kit.db`, or `L402KIT_DB` when set. */
export function defaultDatabasePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.L402KIT_DB || join(homedir(), '.l402kit', 'l402kit.db');
}

/**
 * Opens (and creates, with mode 0600 in a 0700 directory) the l402kit database: WAL journal,
 * full fsync on commit (a reservation must survive a power cut), the schema created or
 * checked. A file that is not an l402kit database, is corrupt or stays locked fails with
 * `DatabaseUnavailableError`: nothing is paid without books.
 */
export function openSqliteDatabase(
  path = defaultDatabasePath(),
  options: SqliteDatabaseOptions = {},
): SqliteDatabase {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new RangeError('busyTimeoutMs must be a non-negative whole number of milliseconds');
  }
  const fail = (what: string, cause: unknown) => unavailable(path, what, cause);
  let db: DatabaseSync;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { DatabaseSync } = loadSqlite();
    db = new DatabaseSync(path);
  } catch (error) {
    throw fail('cannot be opened', error);
  }
  try {
    if (path !== ':memory:') chmodSync(path, 0o600);
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    migrate(db, path);
  } catch (error) {
    db.close();
    throw error instanceof DatabaseUnavailableError ? error : fail('cannot be read', error);
  }

  const statements = new Map<string, StatementSync>();
  let open = true;
  const database: SqliteDatabase = {
    path,
    write(fn) {
      if (!open) throw fail('is closed', undefined);
      try {
        db.exec('BEGIN IMMEDIATE');
      } catch (error) {
        throw fail('is locked by another process or cannot be written', error);
      }
      try {
        const result = fn(db);
        db.exec('COMMIT');
        return result;
      } catch (error) {
        try {
          db.exec('ROLLBACK');
        } catch {}
        if (isSqliteError(error)) throw fail('cannot be written', error);
        throw error;
      }
    },
    read(fn) {
      if (!open) throw fail('is closed', undefined);
      try {
        return fn(db);
      } catch (error) {
        if (isSqliteError(error)) throw fail('cannot be read', error);
        throw error;
      }
    },
    statement(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = db.prepare(sql);
        statement.setReadBigInts(true);
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      if (!open) return;
      open = false;
      statements.clear();
      db.close();
    },
  };
  return database;
}

/** Creates the tables on a new file; refuses a file from a newer l402kit or of another kind. */
function migrate(db: DatabaseSync, path: string): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = Number(
      (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
    );
    if (version === 0) {
      const tables = db
        .prepare("SELECT count(*) AS count FROM sqlite_master WHERE type = 'table'")
        .get() as { count: number };
      if (Number(tables.count) > 0) {
        throw unavailable(path, 'is not an l402kit database (it has other tables)', undefined);
      }
      db.exec(SCHEMA);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    } else if (version > SCHEMA_VERSION) {
      throw unavailable(
        path,
        `was written by a newer l402kit (schema ${version}, this one reads ${SCHEMA_VERSION})`,
        undefined,
      );
    }
    db.exec('COMMIT');
  } catch (error) {
    try {
      db.exec('ROLLBACK');
    } catch {}
    throw error;
  }
}

function unavailable(path: string, what: string, cause: unknown): DatabaseUnavailableError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new DatabaseUnavailableError(
    `The l402kit database ${path} ${what}${detail}. Nothing was paid; l402kit pays nothing without its books.`,
    { paid: false, cause },
  );
}

function isSqliteError(error: unknown): boolean {
  return (
    error instanceof Error &&
    ((error as { code?: unknown }).code === 'ERR_SQLITE_ERROR' ||
      typeof (error as { errcode?: unknown }).errcode === 'number')
  );
}

const require = createRequire(import.meta.url);
let sqlite: typeof import('node:sqlite') | undefined;

/**
 * `node:sqlite`, loaded on first use (so code that never opens a database never loads it) and
 * without the ExperimentalWarning Node 22 prints on loading it, which would otherwise end up
 * in the output of the CLI and the MCP server. Other warnings pass through.
 */
export function loadSqlite(): typeof import('node:sqlite') {
  if (sqlite) return sqlite;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const message = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string })?.type;
    const name = typeof warning === 'string' ? type : warning.name;
    if (name === 'ExperimentalWarning' && /sqlite/i.test(message)) return;
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    sqlite = require('node:sqlite') as typeof import('node:sqlite');
  } finally {
    process.emitWarning = emitWarning;
  }
  return sqlite;
}
