import {
  DatabaseUnavailableError,
  type SpendLedger,
  type SpendLog,
  type TokenStore,
} from '@l402kit/core';

/** Budgets, tokens and spend log in a PostgreSQL database (`@l402kit/postgres`'s state). */
export interface SharedDatabase {
  /** The database without password or query, e.g. `postgres://agent@db:5432/l402kit (schema l402kit)`. */
  location: string;
  ledger: SpendLedger;
  tokenStore: TokenStore;
  spendLog: SpendLog;
  close(): Promise<void>;
}

/** What the CLI and MCP server use of `@l402kit/postgres`. */
interface PostgresModule {
  openPostgresState(url: string): Promise<SharedDatabase>;
  migrate(url: string): Promise<{ schema: string; from: number; to: number }>;
  describeDatabaseUrl(url: string): string;
}

export const POSTGRES_PACKAGE = '@l402kit/postgres';

/** `postgres://` or `postgresql://`: a database URL, not a SQLite file path. */
export function isDatabaseUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

/**
 * Opens the l402kit tables in the PostgreSQL database at `url` (L402KIT_DATABASE_URL or
 * --database-url), migrated first by `l402kit db migrate`. Fails with
 * `DatabaseUnavailableError` (nothing paid, no password shown) when it cannot.
 */
export async function openDatabaseUrl(url: string): Promise<SharedDatabase> {
  return (await loadPostgres(url)).openPostgresState(url);
}

/** Creates or upgrades the l402kit tables in the database at `url` (`l402kit db migrate`). */
export async function migrateDatabaseUrl(
  url: string,
): Promise<{ location: string; schema: string; from: number; to: number }> {
  const postgres = await loadPostgres(url);
  const result = await postgres.migrate(url);
  return { location: postgres.describeDatabaseUrl(url), ...result };
}

/**
 * `@l402kit/postgres`, loaded only when a database URL is set: an optional peer dependency, so
 * that everyone else installs neither it nor `pg`. The URL is checked first (its shape only; it
 * is never repeated, as it may hold a password).
 */
export async function loadPostgres(
  url: string,
  packageName = POSTGRES_PACKAGE,
): Promise<PostgresModule> {
  if (!isDatabaseUrl(url)) {
    throw new DatabaseUnavailableError(
      'L402KIT_DATABASE_URL (or --database-url) must be a PostgreSQL URL such as postgres://user:password@host:5432/database (the value given is not repeated, as it may hold a password). Nothing was paid.',
      { paid: false },
    );
  }
  try {
    return (await import(packageName)) as PostgresModule;
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new DatabaseUnavailableError(
        `L402KIT_DATABASE_URL (or --database-url) names a PostgreSQL database, which needs the optional package ${packageName}: install it beside l402kit (npm install ${packageName}), or unset L402KIT_DATABASE_URL to keep budgets and tokens in the local SQLite database. Nothing was paid.`,
        { paid: false },
      );
    }
    throw error;
  }
}
