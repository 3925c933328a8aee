import type pg from 'pg';
import {
  type Connection,
  connect,
  type PostgresOptions,
  type PostgresTarget,
  unavailable,
} from './connection.js';

/** The schema version this package writes; a database migrated by a newer one is refused. */
export const SCHEMA_VERSION = 2;

// Amounts are msat: bigint in the ledger (64 bits hold all bitcoin there will ever be),
// numeric in tokens (a token records what an invoice said, however large). Times are ms
// since the epoch.
const migrations: Record<number, string> = {
  1: `
CREATE TABLE ledger_levels (
  name text PRIMARY KEY,
  limit_msat bigint,
  per_request_msat bigint,
  per_host_msat bigint,
  window_ms bigint,
  shared boolean NOT NULL DEFAULT false,
  -- Committed and still counted: within the window, or all time without one.
  spent_msat bigint NOT NULL DEFAULT 0,
  reserved_msat bigint NOT NULL DEFAULT 0,
  pending_msat bigint NOT NULL DEFAULT 0,
  updated_at bigint NOT NULL
);

CREATE TABLE ledger_hosts (
  level text NOT NULL,
  host text NOT NULL,
  spent_msat bigint NOT NULL DEFAULT 0,
  reserved_msat bigint NOT NULL DEFAULT 0,
  pending_msat bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (level, host)
);

CREATE TABLE ledger_reservations (
  -- A UUID made by the client, so that a reservation whose commit was cut off can be found.
  id text PRIMARY KEY,
  levels text[] NOT NULL,
  host text NOT NULL,
  amount_msat bigint NOT NULL,
  max_fee_msat bigint NOT NULL,
  spent_msat bigint NOT NULL DEFAULT 0,
  state text NOT NULL CHECK (state IN ('reserved', 'unknown', 'committed', 'released')),
  payment_hash text,
  description text,
  reserved_at bigint NOT NULL,
  settled_at bigint,
  -- pid@hostname of the process that reserved it.
  owner text
);
CREATE INDEX ledger_reservations_open ON ledger_reservations (reserved_at)
  WHERE state IN ('reserved', 'unknown');
CREATE INDEX ledger_reservations_hash ON ledger_reservations (payment_hash);

-- Committed payments still inside a windowed level's window; dropped (and subtracted from the
-- level's totals) once older than the window.
CREATE TABLE ledger_window (
  level text NOT NULL,
  reservation_id text NOT NULL,
  host text NOT NULL,
  at bigint NOT NULL,
  spent_msat bigint NOT NULL,
  PRIMARY KEY (level, reservation_id)
);
CREATE INDEX ledger_window_at ON ledger_window (level, at);

CREATE TABLE tokens (
  key text PRIMARY KEY,
  origin text NOT NULL,
  scope text NOT NULL,
  method text,
  scheme text NOT NULL,
  macaroon text NOT NULL,
  preimage text,
  payment_hash text NOT NULL,
  invoice text NOT NULL,
  amount_msat numeric NOT NULL,
  fee_msat numeric NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'paid')),
  -- Any finite number of milliseconds a token may carry.
  created_at double precision NOT NULL,
  expires_at double precision
);
CREATE INDEX tokens_origin_scope ON tokens (origin, scope);

CREATE TABLE payment_loops (
  key text PRIMARY KEY,
  origin text NOT NULL,
  scope text,
  method text,
  count integer NOT NULL,
  amount_msat numeric NOT NULL,
  payment_hash text NOT NULL,
  first_at bigint NOT NULL,
  last_at bigint NOT NULL
);
CREATE INDEX payment_loops_origin ON payment_loops (origin);
`,
  2: `
-- The spend log (what the CLI and MCP server show with \`l402kit spend\`): a record, not a limit.
CREATE TABLE spend_log (
  id bigserial PRIMARY KEY,
  time text NOT NULL,
  url text NOT NULL,
  amount_msat numeric NOT NULL,
  fee_msat numeric NOT NULL,
  payment_hash text NOT NULL,
  outcome text NOT NULL,
  description text
);
`,
};

export interface MigrateResult {
  schema: string;
  /** The version found before (0: none). */
  from: number;
  to: number;
}

/**
 * Creates or upgrades l402kit's tables in the schema (default `l402kit`), and records the
 * version. Safe to run from several workers at once (they take turns on an advisory lock) and
 * again later (nothing to do). A database already at a newer version is left untouched and
 * refused.
 */
export async function migrate(
  target: PostgresTarget,
  options: PostgresOptions = {},
): Promise<MigrateResult> {
  const connection = connect(target, options);
  try {
    return await migrateConnection(connection);
  } catch (error) {
    // The same typed refusal, without the password, as every other call on the database.
    throw unavailable('migrate the schema', error);
  } finally {
    await connection.close();
  }
}

async function migrateConnection(connection: Connection): Promise<MigrateResult> {
  const { schema, schemaName } = connection;
  const client = await connection.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    // One migration at a time per schema, whichever worker runs it.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`l402kit:${schemaName}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_version (
         version integer PRIMARY KEY,
         migrated_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const from = await versionOf(client, schema);
    if (from > SCHEMA_VERSION) throw newerSchema(schemaName, from);
    await client.query(`SET LOCAL search_path TO ${schema}`);
    for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
      await client.query(migrations[version]!);
      await client.query(`INSERT INTO ${schema}.schema_version (version) VALUES ($1)`, [version]);
    }
    await client.query('COMMIT');
    checked.delete(connection.pool);
    return { schema: schemaName, from, to: SCHEMA_VERSION };
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** The schema's recorded version, 0 when it has none. */
async function schemaVersion(
  connection: Connection,
  client: Pick<pg.Pool, 'query'> = connection.pool,
): Promise<number> {
  const found = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [
    `${connection.schema}.schema_version`,
  ]);
  if (!found.rows[0].present) return 0;
  return versionOf(client, connection.schema);
}

async function versionOf(client: Pick<pg.Pool, 'query'>, schema: string) {
  const result = await client.query(
    `SELECT coalesce(max(version), 0) AS version FROM ${schema}.schema_version`,
  );
  return Number(result.rows[0].version);
}

/** Schemas found at this package's version, per pool. */
const checked = new WeakMap<object, Set<string>>();

/**
 * Resolves once the schema is at this package's version (checked once per pool and schema);
 * rejects, telling how to create it, when it is missing, older or newer.
 */
export async function requireSchema(
  connection: Connection,
  client: Pick<pg.Pool, 'query'> = connection.pool,
): Promise<void> {
  if (checked.get(connection.pool)?.has(connection.schemaName)) return;
  const version = await schemaVersion(connection, client);
  if (version > SCHEMA_VERSION) throw newerSchema(connection.schemaName, version);
  if (version < SCHEMA_VERSION) {
    throw new SchemaMissingError(
      version === 0
        ? `the schema "${connection.schemaName}" has no l402kit tables; run migrate() or \`l402kit db migrate\` first`
        : `the schema "${connection.schemaName}" is at version ${version}, this l402kit needs ${SCHEMA_VERSION}; run migrate() or \`l402kit db migrate\``,
    );
  }
  let schemas = checked.get(connection.pool);
  if (schemas === undefined) {
    schemas = new Set();
    checked.set(connection.pool, schemas);
  }
  schemas.add(connection.schemaName);
}

/** The tables are missing or at another version. */
export class SchemaMissingError extends Error {}

function newerSchema(schema: string, version: number) {
  return new SchemaMissingError(
    `the schema "${schema}" is at version ${version}, newer than this l402kit (${SCHEMA_VERSION}); upgrade @l402kit/postgres`,
  );
}
