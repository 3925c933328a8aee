import { DatabaseUnavailableError, L402Error } from '@l402kit/core';
import pg from 'pg';

/** A pool you own, or a connection string (`postgres://user:password@host:5432/db`). */
export type PostgresTarget = pg.Pool | string;

export interface PostgresOptions {
  /**
   * The schema that holds l402kit's tables. Default `l402kit`. Letters, digits and `_` only,
   * not starting with a digit, at most 63 characters.
   */
  schema?: string;
}

/** A connection the ledger and the store share: the pool and the quoted schema. */
export interface Connection {
  pool: pg.Pool;
  /** Quoted for SQL, e.g. `"l402kit"`. */
  schema: string;
  /** The schema name as given. */
  schemaName: string;
  /** Ends the pool if it was made here from a connection string. */
  close(): Promise<void>;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function connect(target: PostgresTarget, options: PostgresOptions = {}): Connection {
  const schemaName = options.schema ?? 'l402kit';
  if (typeof schemaName !== 'string' || !SCHEMA_NAME.test(schemaName)) {
    throw new RangeError(
      'schema must be letters, digits and "_", not starting with a digit, at most 63 characters',
    );
  }
  let pool: pg.Pool;
  let owned = false;
  if (typeof target === 'string') {
    pool = createPool(target);
    owned = true;
  } else if (target instanceof pg.Pool || isPoolLike(target)) {
    pool = target;
  } else {
    throw new TypeError('expected a pg.Pool or a postgres:// connection string');
  }
  watchClients(pool);
  return {
    pool,
    schema: `"${schemaName}"`,
    schemaName,
    close: async () => {
      if (owned) await pool.end();
    },
  };
}

/**
 * A pool for a connection string. Checked first, so that a malformed string fails with a
 * message that does not repeat it. Idle connections do not keep the process alive, and one
 * the server ends (a restart, a terminated backend) is dropped instead of crashing it.
 */
export function createPool(connectionString: string, config: pg.PoolConfig = {}): pg.Pool {
  describeDatabaseUrl(connectionString);
  const pool = new pg.Pool({ connectionString, allowExitOnIdle: true, ...config });
  pool.on('error', () => {});
  return pool;
}

/**
 * `postgres://user@host:port/database`, without the password or query, for messages and logs;
 * throws a RangeError (that does not repeat the string) when it is not a postgres:// URL.
 */
export function describeDatabaseUrl(connectionString: string): string {
  let url: URL | undefined;
  try {
    url = new URL(connectionString);
  } catch {}
  if (url === undefined || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
    throw new RangeError(
      'the database URL must look like postgres://user:password@host:5432/database',
    );
  }
  const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
  return `postgres://${user}${url.host}${url.pathname}`;
}

// Pools whose new clients get our error listener, and clients that have it.
const watchedPools = new WeakSet<object>();
const listening = new WeakSet<object>();

/**
 * A connection that the server ends while no query runs on it (a terminated backend, a
 * restart) emits 'error', which crashes the process when nothing listens. Every client of
 * the pool gets a listener as it connects; the failure then reaches us as the next query's
 * rejection, and the work is retried on another connection.
 */
function watchClients(pool: pg.Pool): void {
  if (watchedPools.has(pool) || typeof pool.on !== 'function') return;
  watchedPools.add(pool);
  pool.on('connect', listenForErrors);
}

/** Adds the error listener to a client that has none of ours yet (pools reuse clients). */
export function listenForErrors(client: pg.PoolClient | pg.Client): void {
  if (listening.has(client)) return;
  listening.add(client);
  client.on('error', () => {});
}

function isPoolLike(value: unknown): value is pg.Pool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as pg.Pool).connect === 'function' &&
    typeof (value as pg.Pool).query === 'function'
  );
}

/** Errors after which the same work may be tried again on a new connection. */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string') {
    // Serialization failure, deadlock, admin shutdown / crash / cannot connect now, and the
    // connection exception class.
    if (['40001', '40P01', '57P01', '57P02', '57P03'].includes(code) || code.startsWith('08')) {
      return true;
    }
    if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|Client has encountered a connection error|not queryable/i.test(
    message,
  );
}

/**
 * The error callers see when PostgreSQL cannot be reached or did not answer as expected
 * (connection refused or lost, authentication failed, schema missing or newer): core's
 * `DatabaseUnavailableError`, nothing paid, and no connection string or password in it.
 */
export function unavailable(action: string, error: unknown): Error {
  // Our own refusals (a level that does not exist, a bad token) pass through as they are.
  if (error instanceof L402Error || error instanceof RangeError || error instanceof TypeError) {
    return error;
  }
  return new DatabaseUnavailableError(
    `PostgreSQL could not ${action} (${redact(describeCause(error))}). Nothing was paid.`,
    { paid: false },
  );
}

function describeCause(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Removes anything shaped like a URL's credentials or query from a driver message. */
export function redact(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1[redacted]@')
    .replace(/(postgres(?:ql)?:\/\/[^\s?]*)\?\S*/gi, '$1')
    .replace(/password=\S+/gi, 'password=[redacted]');
}
