import { parseArgs } from 'node:util';
import { migrateDatabaseUrl } from '@l402kit/mcp';
import type { CliIo } from './cli-io.js';
import { databaseUrl } from './core-stores.js';
import { EXIT_CODES } from './exit-codes.js';
import { UsageError } from './usage-error.js';

export const DB_USAGE = `Usage: l402kit db migrate [--database-url <url>]

Creates or upgrades l402kit's tables (schema "l402kit") in the PostgreSQL database of
L402KIT_DATABASE_URL or --database-url, and records the schema version. Run it once per
deploy, before the workers start: they refuse a database without the tables (nothing paid).
Safe to run from several machines at once and again later. Needs @l402kit/postgres.

The SQLite database (~/.l402kit/l402kit.db) needs no migration: it is upgraded when opened.`;

export async function dbCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'database-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${DB_USAGE}\n`);
    return EXIT_CODES.ok;
  }
  const [action, ...extra] = positionals;
  if (action !== 'migrate' || extra.length > 0) {
    throw new UsageError(
      action === undefined
        ? 'say what to do: migrate'
        : `unknown db action "${action.slice(0, 40)}"`,
      DB_USAGE,
    );
  }
  const url = databaseUrl(
    io,
    values['database-url'] === undefined ? {} : { databaseUrl: values['database-url'] },
  );
  if (url === undefined) {
    throw new UsageError(
      'set L402KIT_DATABASE_URL or --database-url to a postgres:// URL',
      DB_USAGE,
    );
  }
  const result = await migrateDatabaseUrl(url);
  io.stdout.write(
    result.from === result.to
      ? `${result.location}: schema "${result.schema}" already at version ${result.to}; nothing to do\n`
      : `${result.location}: schema "${result.schema}" migrated from version ${result.from} to ${result.to}\n`,
  );
  return EXIT_CODES.ok;
}
