import { parseArgs } from 'node:util';
import {
  type BudgetStatus,
  createBudget,
  createSharedBudget,
  formatMsat,
  formatWindow,
  parseWindow,
  satsToMsat,
} from '@l402kit/core';
import { type CliIo, formatTable } from './cli-io.js';
import { openStores } from './core-stores.js';
import { EXIT_CODES } from './exit-codes.js';
import { UsageError } from './usage-error.js';

export const BUDGET_USAGE = `Usage: l402kit budget [list] [--json]
       l402kit budget set <name> --max-sats <n> [--window <1h|24h|7d|ms>] [--max-sats-per-request <n>]

The durable budget levels in the l402kit database (~/.l402kit/l402kit.db, or L402KIT_DB or
--db): every payment by \`l402kit fetch\` and \`l402kit mcp\` on this machine is charged to each
level set here (under any per-call or per-session limit), and they survive restarts. With
L402KIT_DATABASE_URL (or --database-url) the levels live in PostgreSQL and bind every process
on every machine that uses that database.

  list                   each level: limit, window, spent in the window, pending, remaining
  set <name>             create a level or change its limits (what was spent is kept)
    --max-sats <n>       the limit (within the window, if any)
    --window <w>         rolling window: 1h, 24h, 7d, or milliseconds (default: a total for ever)
    --max-sats-per-request <n>  the most one payment may cost, fees included
  --db <path>            another database file
  --database-url <url>   a PostgreSQL database instead (or L402KIT_DATABASE_URL): the levels
                         are then shared by every machine that uses it
  --json                 amounts in msat, as JSON`;

export async function budgetCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'max-sats': { type: 'string' },
      'max-sats-per-request': { type: 'string' },
      window: { type: 'string' },
      db: { type: 'string' },
      'database-url': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${BUDGET_USAGE}\n`);
    return EXIT_CODES.ok;
  }
  const [action = 'list', name, ...extra] = positionals;
  if (action !== 'list' && action !== 'set') {
    throw new UsageError(`unknown budget action "${action.slice(0, 40)}"`, BUDGET_USAGE);
  }
  if (extra.length > 0 || (action === 'list' && name !== undefined)) {
    throw new UsageError('too many arguments', BUDGET_USAGE);
  }
  const stores = await openStores(io, {
    ...(values.db === undefined ? {} : { db: values.db }),
    ...(values['database-url'] === undefined ? {} : { databaseUrl: values['database-url'] }),
  });
  try {
    const ledger = stores.ledger;
    if (ledger === undefined) {
      throw new UsageError('budget levels live in the database: unset L402KIT_NO_DB', BUDGET_USAGE);
    }
    if (action === 'set') {
      if (name === undefined || name.trim() === '') {
        throw new UsageError(
          'name the level, e.g. `l402kit budget set daily --max-sats 5000 --window 24h`',
          BUDGET_USAGE,
        );
      }
      if (values['max-sats'] === undefined) {
        throw new UsageError('--max-sats is required', BUDGET_USAGE);
      }
      await ledger.defineLevel({
        name,
        limitMsat: parseSats(values['max-sats'], 'max-sats'),
        ...(values['max-sats-per-request'] === undefined
          ? {}
          : { perRequestMsat: parseSats(values['max-sats-per-request'], 'max-sats-per-request') }),
        ...(values.window === undefined ? {} : { windowMs: parseWindowOption(values.window) }),
        shared: true,
      });
    }
    const levels = await ledger.listLevels();
    // One status per level, each read through a budget over it alone.
    const statuses: { status: BudgetStatus; shared: boolean }[] = [];
    for (const level of levels) {
      const budget = level.shared
        ? createSharedBudget(ledger, level.name)
        : createBudget({ name: level.name, ledger, ...limitsOf(level) });
      const status = await budget.status();
      // A shared budget's first level is the alphabetically first shared level: find ours.
      let mine: BudgetStatus | undefined = status;
      while (mine !== undefined && mine.name !== level.name) mine = mine.parent;
      statuses.push({
        status: { ...(mine ?? status), parent: undefined },
        shared: level.shared === true,
      });
    }
    if (values.json) {
      io.stdout.write(
        `${JSON.stringify(
          statuses.map(({ status, shared }) => ({
            name: status.name,
            appliesTo: shared ? 'every l402kit process' : 'budgets that name it',
            limitMsat: status.limitMsat?.toString(),
            windowMs: status.windowMs,
            perRequestLimitMsat: status.perRequestLimitMsat?.toString(),
            spentMsat: status.spentMsat.toString(),
            reservedMsat: status.reservedMsat.toString(),
            pendingMsat: status.pendingMsat.toString(),
            remainingMsat: status.remainingMsat?.toString(),
          })),
          null,
          2,
        )}\n`,
      );
      return EXIT_CODES.ok;
    }
    if (statuses.length === 0) {
      io.stdout.write(
        `No budget levels in ${stores.path}. Set one with: l402kit budget set daily --max-sats 5000 --window 24h\n`,
      );
      return EXIT_CODES.ok;
    }
    const rows = statuses.map(({ status, shared }) => [
      status.name,
      status.limitMsat === undefined ? 'none' : formatMsat(status.limitMsat),
      status.windowMs === undefined ? 'total' : formatWindow(status.windowMs),
      formatMsat(status.spentMsat),
      formatMsat(status.reservedMsat + status.pendingMsat),
      status.remainingMsat === undefined ? '-' : formatMsat(status.remainingMsat),
      shared ? 'every process' : 'named only',
    ]);
    io.stdout.write(
      `${formatTable(['Level', 'Limit', 'Window', 'Spent', 'Pending', 'Remaining', 'Applies to'], rows, [1, 3, 4, 5])}\n`,
    );
    return EXIT_CODES.ok;
  } finally {
    await stores.close();
  }
}

function limitsOf(level: {
  limitMsat?: bigint;
  perRequestMsat?: bigint;
  perHostMsat?: bigint;
  windowMs?: number;
}) {
  return {
    ...(level.limitMsat === undefined ? {} : { maxMsat: level.limitMsat }),
    ...(level.perRequestMsat === undefined ? {} : { maxMsatPerRequest: level.perRequestMsat }),
    ...(level.perHostMsat === undefined ? {} : { maxMsatPerHost: level.perHostMsat }),
    ...(level.windowMs === undefined ? {} : { window: level.windowMs }),
  };
}

function parseSats(text: string, name: string): bigint {
  try {
    if (/^\d+(\.\d{1,3})?$/.test(text)) return satsToMsat(Number(text));
  } catch {}
  throw new UsageError(`--${name} must be a number of sats (at most 3 decimals)`, BUDGET_USAGE);
}

function parseWindowOption(text: string): number {
  try {
    return parseWindow(/^\d+$/.test(text) ? Number(text) : text);
  } catch {
    throw new UsageError('--window must be a duration such as 1h, 24h or 7d', BUDGET_USAGE);
  }
}
