import { parseArgs } from 'node:util';
import { formatMsat } from '@l402kit/core';
import { type CliIo, formatTable, styles } from './cli-io.js';
import { openStores, type SpendEntry } from './core-stores.js';
import { EXIT_CODES } from './exit-codes.js';
import { UsageError } from './usage-error.js';

export const SPEND_USAGE = `Usage: l402kit spend [--limit <n>] [--since <date>] [--json]

Recent payments from the spend log in the l402kit database (~/.l402kit/l402kit.db, or
L402KIT_DB; with L402KIT_NO_DB=1 ~/.l402kit/spend.jsonl or L402KIT_SPEND_LOG), newest
last, with the total actually paid. Outcomes: paid, failed (nothing moved), unknown (counted
as spent until the wallet settles it), resolved-paid / resolved-failed.

  --limit <n>     show the last n payments (default 20; 0 for all)
  --since <date>  only payments from this date or time on (e.g. 2025-01-31)
  --json          one JSON object per payment, amounts in msat`;

// Outcomes where the money surely left the wallet.
const paidOutcomes = new Set(['paid', 'resolved-paid']);

export async function spendCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      limit: { type: 'string', default: '20' },
      since: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${SPEND_USAGE}\n`);
    return EXIT_CODES.ok;
  }
  if (positionals.length > 0) throw new UsageError('spend takes no arguments', SPEND_USAGE);
  const limit = Number(values.limit);
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new UsageError('--limit must be a whole number', SPEND_USAGE);
  }
  const since = values.since === undefined ? undefined : Date.parse(values.since);
  if (since !== undefined && Number.isNaN(since)) {
    throw new UsageError('--since must be a date such as 2025-01-31', SPEND_USAGE);
  }

  const stores = await openStores(io);
  const path = stores.path;
  let entries: SpendEntry[];
  try {
    entries = await stores.spendLog.read();
  } finally {
    await stores.close();
  }
  if (since !== undefined) entries = entries.filter((entry) => Date.parse(entry.time) >= since);
  const shown = limit === 0 ? entries : entries.slice(-limit);

  if (values.json) {
    for (const entry of shown) io.stdout.write(`${JSON.stringify(toJson(entry))}\n`);
    return EXIT_CODES.ok;
  }
  if (entries.length === 0) {
    io.stdout.write(`No payments in ${path}.\n`);
    return EXIT_CODES.ok;
  }
  const style = styles(io.stdout, io.env);
  const described = shown.some((entry) => entry.description !== undefined);
  const rows = shown.map((entry) => [
    entry.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    paidOutcomes.has(entry.outcome) ? entry.outcome : style.yellow(entry.outcome),
    formatMsat(entry.amountMsat),
    formatMsat(entry.feeMsat),
    entry.url,
    ...(described ? [entry.description ?? ''] : []),
  ]);
  const paid = entries.filter((entry) => paidOutcomes.has(entry.outcome));
  const total = paid.reduce((sum, entry) => sum + entry.amountMsat + entry.feeMsat, 0n);
  const fees = paid.reduce((sum, entry) => sum + entry.feeMsat, 0n);
  const unknown = entries.filter((entry) => entry.outcome === 'unknown').length;
  io.stdout.write(
    `${formatTable(['Time', 'Outcome', 'Amount', 'Fee', 'URL', ...(described ? ['Description'] : [])], rows, [2, 3])}\n`,
  );
  io.stdout.write(
    `\n${shown.length < entries.length ? `Showing the last ${shown.length} of ${entries.length} entries. ` : ''}${style.bold(`Total paid: ${formatMsat(total)}`)} (${formatMsat(fees)} in routing fees) in ${paid.length} payment(s)${unknown > 0 ? `; ${unknown} with unknown outcome in the log` : ''}.\n`,
  );
  return EXIT_CODES.ok;
}

function toJson(entry: SpendEntry) {
  return { ...entry, amountMsat: String(entry.amountMsat), feeMsat: String(entry.feeMsat) };
}
