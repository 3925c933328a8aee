import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  createBudget,
  createPaidFetch,
  createSharedBudget,
  DEFAULT_PAYMENT_TIMEOUT_MS,
  formatMsat,
  L402Error,
  MemoryTokenStore,
  type PaidFetchEvent,
  settleOpenReservations,
  type Wallet,
} from '@l402kit/core';
import { type CliIo, styles } from './cli-io.js';
import { openStores } from './core-stores.js';
import { EXIT_CODES, exitCodeFor } from './exit-codes.js';
import { UsageError } from './usage-error.js';

export const FETCH_USAGE = `Usage: l402kit fetch <url> [options]

Fetches a URL like curl and pays its L402 challenge (HTTP 402 + Lightning invoice) within
--max-sats. The body goes to stdout (or -o); payments and progress go to stderr.

Options:
  --max-sats <n>           pay at most n sats for the request (default 100, or L402KIT_MAX_SATS)
  --dry-run, --quote       only ask for the price; pay nothing
  -X, --request <method>   HTTP method (default GET, or POST with -d)
  -H, --header <line>      add a request header, e.g. -H 'Accept: application/json' (repeatable)
  -d, --data <body>        request body; @file reads a file, @- reads stdin
  -o, --output <file>      write the body to a file
  -i, --include            print the response status and headers before the body
  -f, --fail               exit with 22 when the server answers an HTTP error
  -s, --silent             no progress or payment lines on stderr
  --wallet <url>           wallet URL (default L402KIT_WALLET)
  --allow-private-network  allow loopback/private addresses (or L402KIT_ALLOW_PRIVATE_NETWORK=1)
  --no-store               do not read or keep tokens (the budget levels still apply)
  --db <path>              the l402kit database (default ~/.l402kit/l402kit.db, or L402KIT_DB)
  --database-url <url>     postgres://... : budgets, tokens and spend log in PostgreSQL instead,
                           shared by every machine (or L402KIT_DATABASE_URL; needs
                           @l402kit/postgres and \`l402kit db migrate\`)
  --no-db                  no database: no durable budget levels, tokens in the old files
                           (or L402KIT_NO_DB=1)

Every payment is also charged to the budget levels set with \`l402kit budget set\` (e.g. a
daily limit), kept in the database and shared with every other l402kit process.

Exit codes: 0 ok, 2 usage, 3 over --max-sats or budget, 4 refused by policy, 5 payment failed,
6 paid (or maybe paid) but not delivered, 7 network error, 8 invalid challenge from the server,
9 wallet or token store configuration, 22 HTTP error with --fail, 1 anything else.
Exit codes 3, 4, 5 and 8 guarantee that nothing was paid.`;

export async function fetchCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'max-sats': { type: 'string' },
      'dry-run': { type: 'boolean' },
      quote: { type: 'boolean' },
      request: { type: 'string', short: 'X' },
      header: { type: 'string', short: 'H', multiple: true },
      data: { type: 'string', short: 'd' },
      output: { type: 'string', short: 'o' },
      include: { type: 'boolean', short: 'i' },
      fail: { type: 'boolean', short: 'f' },
      silent: { type: 'boolean', short: 's' },
      wallet: { type: 'string' },
      'allow-private-network': { type: 'boolean' },
      'no-store': { type: 'boolean' },
      db: { type: 'string' },
      'database-url': { type: 'string' },
      'no-db': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${FETCH_USAGE}\n`);
    return EXIT_CODES.ok;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one URL', FETCH_USAGE);
  const url = parseUrl(positionals[0]!);
  const maxSats = parsePositive(values['max-sats'] ?? io.env.L402KIT_MAX_SATS ?? '100', 'max-sats');
  const headers = parseHeaders(values.header ?? []);
  const body = values.data === undefined ? undefined : await readData(values.data, io);
  const method = (values.request ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  const quiet = values.silent === true;
  const style = styles(io.stderr, io.env);
  const note = (text: string) => {
    if (!quiet) io.stderr.write(`${text}\n`);
  };

  const wallet = await openWallet(values.wallet ?? io.env.L402KIT_WALLET);
  let stores: Awaited<ReturnType<typeof openStores>> | undefined;
  try {
    stores = await openStores(io, {
      ...(values.db === undefined ? {} : { db: values.db }),
      ...(values['database-url'] === undefined ? {} : { databaseUrl: values['database-url'] }),
      noDb: values['no-db'] === true,
    });
    const store = values['no-store'] ? new MemoryTokenStore() : stores.tokenStore;
    const spendLog = stores.spendLog;
    const onEvent = (event: PaidFetchEvent) => {
      if (event.type === 'payment') {
        note(
          style.yellow(
            `${style.enabled ? '⚡ ' : ''}paid ${formatMsat(event.amountMsat)} + ${formatMsat(event.feeMsat)} routing fee for ${event.url}`,
          ),
        );
      } else if (event.type === 'pending-wait') {
        // Otherwise the command would sit silent for up to the payment timeout.
        note(
          style.yellow(
            `waiting up to ${Math.ceil(event.waitMs / 1000)} s for a payment of ${formatMsat(event.amountMsat)} for ${event.url} that another l402kit process started (or whose outcome is unknown); it is never paid twice, and \`l402kit tokens list\` shows it as pending`,
          ),
        );
      } else if (event.type === 'token-reused') {
        note(style.dim(`used a token bought earlier for ${event.url}; nothing paid`));
      }
    };
    const paidFetch = createPaidFetch({
      wallet,
      // --max-sats caps the price; the fee limit (1 sat + 1 %) caps the routing fee on top.
      // Charged to the operator's durable levels too (`l402kit budget set`).
      budget: createBudget({
        name: 'l402kit fetch',
        ...(stores.ledger === undefined ? {} : { parent: createSharedBudget(stores.ledger) }),
      }),
      policy: {
        maxSatsPerRequest: maxSats,
        allowPrivateNetwork:
          values['allow-private-network'] === true || isTrue(io.env.L402KIT_ALLOW_PRIVATE_NETWORK),
      },
      tokenStore: store,
      spendLog,
      onEvent,
    });
    if (stores.ledger !== undefined && !values['no-store']) {
      // What an earlier run left pending (a crash, an unknown outcome) is settled first.
      await paidFetch.resolvePending();
      await settleOpenReservations(stores.ledger, wallet, {
        staleAfterMs: DEFAULT_PAYMENT_TIMEOUT_MS + 5_000,
      });
    }

    if (values['dry-run'] || values.quote) {
      const quote = await paidFetch.quote(url, { method, headers, body });
      if (quote.priceMsat === undefined) {
        io.stdout.write(`${quote.url}: no payment needed (HTTP ${quote.status})\n`);
      } else {
        io.stdout.write(
          [
            `${quote.url}: ${formatMsat(quote.priceMsat)} (plus at most ${formatMsat(quote.maxFeeMsat ?? 0n)} routing fee)`,
            quote.description ? `description: ${quote.description}` : undefined,
            quote.invoiceExpiresAt
              ? `invoice expires: ${quote.invoiceExpiresAt.toISOString()}`
              : undefined,
            quote.priceMsat > BigInt(Math.round(maxSats * 1000))
              ? `above --max-sats ${maxSats}: l402kit fetch would refuse to pay it`
              : undefined,
          ]
            .filter(Boolean)
            .join('\n') + '\n',
        );
      }
      return EXIT_CODES.ok;
    }

    if (style.enabled && !quiet) note(style.dim(`${method} ${url.origin}${url.pathname}`));
    const response = await paidFetch(url, { method, headers, body });
    const content = new Uint8Array(await response.arrayBuffer());
    if (values.include) {
      const lines = [`HTTP ${response.status} ${response.statusText}`];
      for (const [name, value] of response.headers) lines.push(`${name}: ${value}`);
      io.stdout.write(`${lines.join('\n')}\n\n`);
    }
    if (values.output) await writeFile(values.output, content);
    else io.stdout.write(content);
    if (style.enabled && !quiet) {
      const receipt = response.l402;
      note(
        style.dim(
          `HTTP ${response.status}; ${receipt.paid ? `paid ${formatMsat(receipt.amountMsat + receipt.feeMsat)} in total` : 'nothing paid'}`,
        ),
      );
    }
    if (values.fail && response.status >= 400) return EXIT_CODES.httpError;
    return EXIT_CODES.ok;
  } catch (error) {
    if (!(error instanceof L402Error)) throw error;
    io.stderr.write(
      `${style.red(`l402kit fetch: ${error.code}`)}: ${error.message}${error.message.includes(error.paymentSummary) ? '' : ` ${error.paymentSummary}`}\n`,
    );
    return exitCodeFor(error);
  } finally {
    await stores?.close();
    await wallet.close?.();
  }
}

async function openWallet(walletUrl: string | undefined): Promise<Wallet> {
  if (walletUrl === undefined || walletUrl.trim() === '') {
    throw new UsageError(
      'no wallet: set L402KIT_WALLET (or --wallet) to a wallet URL; `l402kit sandbox` prints one to try without money',
    );
  }
  const { walletFromUrl } = await import('@l402kit/wallets');
  return walletFromUrl(walletUrl);
}

function parseUrl(text: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {}
  throw new UsageError(
    `not an http(s) URL: ${text.length > 80 ? `${text.slice(0, 80)}...` : text}`,
  );
}

function parsePositive(text: string, name: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d{1,3})?$/.test(text) || value <= 0) {
    throw new UsageError(`--${name} must be a positive number of sats`);
  }
  return value;
}

function parseHeaders(lines: string[]): Headers {
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new UsageError(`a header is "Name: value", got "${line.split(':')[0]}"`);
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      throw new UsageError(`invalid header name "${line.slice(0, colon).trim()}"`);
    }
  }
  return headers;
}

async function readData(data: string, io: CliIo): Promise<string | Uint8Array<ArrayBuffer>> {
  if (!data.startsWith('@')) return data;
  if (data === '@-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin ?? process.stdin) chunks.push(Buffer.from(chunk));
    return new Uint8Array(Buffer.concat(chunks)).slice();
  }
  try {
    return new Uint8Array(await readFile(data.slice(1))).slice();
  } catch {
    throw new UsageError(`cannot read the file ${data.slice(1)}`);
  }
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}
