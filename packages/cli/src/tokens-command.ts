import { parseArgs } from 'node:util';
import { formatMsat } from '@l402kit/core';
import { type CliIo, formatTable, styles } from './cli-io.js';
import { openStores, type StoredToken, type TokenStore } from './core-stores.js';
import { EXIT_CODES } from './exit-codes.js';
import { UsageError } from './usage-error.js';

export const TOKENS_USAGE = `Usage: l402kit tokens <list|show|remove|clear|loops> [options]

The tokens l402kit bought and keeps for reuse, in the l402kit database (~/.l402kit/l402kit.db,
or L402KIT_DB; with L402KIT_NO_DB=1 the token file ~/.l402kit/tokens.json or L402KIT_TOKEN_FILE).
Macaroons and preimages are secrets and are never printed.

  l402kit tokens list [--json]           every token: where it works, state, price, expiry
  l402kit tokens show <id> [--json]      one token (id: its number in the list, a payment hash prefix or its key)
  l402kit tokens remove <id>             forget one token
  l402kit tokens clear [--force]         forget all tokens (refused while a payment is pending, unless --force)
  l402kit tokens loops [--json]          resources and origins refused after a payment loop (402 again after paying)
  l402kit tokens loops clear [<url>]     pay them again: the records of one origin (a URL or origin), or all`;

export async function tokensCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [action = 'list', target, ...extra] = positionals;
  if (values.help) {
    io.stdout.write(`${TOKENS_USAGE}\n`);
    return EXIT_CODES.ok;
  }
  if (extra.length > (action === 'loops' ? 1 : 0)) {
    throw new UsageError('too many arguments', TOKENS_USAGE);
  }
  const stores = await openStores(io);
  try {
    return await tokensAction(stores.tokenStore, stores.path, action, target, extra, values, io);
  } finally {
    await stores.close();
  }
}

async function tokensAction(
  store: TokenStore,
  path: string,
  action: string,
  target: string | undefined,
  extra: string[],
  values: { json?: boolean; force?: boolean },
  io: CliIo,
): Promise<number> {
  if (action === 'loops') return loopsCommand(store, path, target, extra[0], values.json, io);
  const tokens = sortTokens(await store.list());
  const style = styles(io.stdout, io.env);

  switch (action) {
    case 'list': {
      if (values.json) {
        io.stdout.write(`${JSON.stringify(tokens.map(redact), null, 2)}\n`);
      } else if (tokens.length === 0) {
        io.stdout.write(`No tokens in ${path}.\n`);
      } else {
        const rows = tokens.map((token, index) => [
          String(index + 1),
          `${token.origin}${describeScope(token.scope)}`,
          token.method ?? '*',
          token.state === 'pending' ? style.yellow('pending') : token.state,
          formatMsat(token.amountMsat + token.feeMsat),
          describeExpiry(token.expiresAt),
          token.paymentHash.slice(0, 12),
        ]);
        io.stdout.write(
          `${formatTable(['#', 'Works for', 'Method', 'State', 'Paid', 'Expires', 'Payment hash'], rows, [4])}\n`,
        );
      }
      return EXIT_CODES.ok;
    }
    case 'show': {
      const token = pick(tokens, target);
      if (values.json) {
        io.stdout.write(`${JSON.stringify(redact(token), null, 2)}\n`);
        return EXIT_CODES.ok;
      }
      const fields: [string, string][] = [
        ['key', token.key],
        ['works for', `${token.origin}${describeScope(token.scope)}`],
        ['method', token.method ?? 'any'],
        ['scheme', token.scheme],
        ['state', token.state],
        ['price', formatMsat(token.amountMsat)],
        ['routing fee', formatMsat(token.feeMsat)],
        ['payment hash', token.paymentHash],
        ['bought', new Date(token.createdAt).toISOString()],
        [
          'expires',
          token.expiresAt === undefined ? 'never' : new Date(token.expiresAt).toISOString(),
        ],
        ['macaroon', '[redacted]'],
        ['preimage', token.preimage === undefined ? '(not yet known)' : '[redacted]'],
      ];
      io.stdout.write(
        `${fields.map(([name, value]) => `${`${name}:`.padEnd(14)}${value}`).join('\n')}\n`,
      );
      return EXIT_CODES.ok;
    }
    case 'remove': {
      const token = pick(tokens, target);
      await store.delete(token.key);
      io.stdout.write(`Removed the token for ${token.origin}${describeScope(token.scope)}.\n`);
      return EXIT_CODES.ok;
    }
    case 'clear': {
      const pending = tokens.filter((token) => token.state === 'pending');
      if (pending.length > 0 && !values.force) {
        io.stderr.write(
          `l402kit tokens: ${pending.length} token(s) have a payment in flight; clearing them could make l402kit pay again for something already paid. Wait, or use --force.\n`,
        );
        return EXIT_CODES.refused;
      }
      await store.clear();
      io.stdout.write(`Removed ${tokens.length} token(s) from ${path}.\n`);
      return EXIT_CODES.ok;
    }
    default:
      throw new UsageError(`unknown tokens action "${action}"`, TOKENS_USAGE);
  }
}

async function loopsCommand(
  store: TokenStore,
  path: string,
  action: string | undefined,
  target: string | undefined,
  json: boolean | undefined,
  io: CliIo,
): Promise<number> {
  if (action === 'clear') {
    const removed = (await store.clearPaymentLoops?.(target)) ?? 0;
    io.stdout.write(
      `Removed ${removed} payment loop record(s)${target === undefined ? '' : ` for ${target}`}; l402kit may pay there again.\n`,
    );
    return EXIT_CODES.ok;
  }
  if (action !== undefined) throw new UsageError(`unknown loops action "${action}"`, TOKENS_USAGE);
  const loops = [...((await store.listPaymentLoops?.()) ?? [])].sort((a, b) => a.lastAt - b.lastAt);
  if (json) {
    const plain = loops.map((loop) => ({ ...loop, amountMsat: String(loop.amountMsat) }));
    io.stdout.write(`${JSON.stringify(plain, null, 2)}\n`);
  } else if (loops.length === 0) {
    io.stdout.write(`No payment loops recorded in ${path}.\n`);
  } else {
    const rows = loops.map((loop) => [
      loop.scope === undefined
        ? `${loop.origin} (whole origin)`
        : `${loop.origin}${describeScope(loop.scope)}`,
      loop.method ?? '*',
      String(loop.count),
      formatMsat(loop.amountMsat),
      new Date(loop.lastAt).toISOString(),
    ]);
    io.stdout.write(
      `${formatTable(['Refused', 'Method', 'Loops', 'Paid for nothing', 'Last'], rows, [2])}\n`,
    );
  }
  return EXIT_CODES.ok;
}

function sortTokens(tokens: StoredToken[]): StoredToken[] {
  return [...tokens].sort((a, b) => a.createdAt - b.createdAt || a.key.localeCompare(b.key));
}

/** A token by its number in the list, a payment hash prefix (6+ characters) or its key. */
function pick(tokens: StoredToken[], target: string | undefined): StoredToken {
  if (target === undefined)
    throw new UsageError('say which token (see `l402kit tokens list`)', TOKENS_USAGE);
  if (/^\d+$/.test(target)) {
    const token = tokens[Number(target) - 1];
    if (token !== undefined) return token;
  }
  const byKey = tokens.find((token) => token.key === target);
  if (byKey !== undefined) return byKey;
  const prefix = target.toLowerCase();
  const matches =
    prefix.length >= 6 ? tokens.filter((token) => token.paymentHash.startsWith(prefix)) : [];
  if (matches.length === 1) return matches[0]!;
  throw new UsageError(
    matches.length > 1 ? `"${target}" matches several tokens` : `no token "${target}"`,
  );
}

function redact(token: StoredToken) {
  const { macaroon: _macaroon, preimage, ...rest } = token;
  return {
    ...rest,
    amountMsat: String(token.amountMsat),
    feeMsat: String(token.feeMsat),
    macaroon: '[redacted]',
    ...(preimage === undefined ? {} : { preimage: '[redacted]' }),
  };
}

function describeScope(scope: string): string {
  return scope.startsWith('prefix:')
    ? `${scope.slice('prefix:'.length).replace(/\/$/, '')}/*`
    : scope;
}

function describeExpiry(expiresAt: number | undefined): string {
  if (expiresAt === undefined) return 'never';
  const seconds = Math.round((expiresAt - Date.now()) / 1000);
  if (seconds <= 0) return 'expired';
  if (seconds < 3600) return `in ${Math.ceil(seconds / 60)} min`;
  if (seconds < 172_800) return `in ${Math.round(seconds / 3600)} h`;
  return new Date(expiresAt).toISOString().slice(0, 10);
}
