import { parseArgs } from 'node:util';
import { defaultDatabasePath, parseWindow } from '@l402kit/core';
import { DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_TIMEOUT_MS } from './http-server.js';

/** Everything the l402kit-mcp binary is configured with, from flags and environment variables. */
export interface McpServerConfig {
  /** Wallet connection URL; a secret, never logged. */
  walletUrl: string;
  /** Each session's own budget. */
  budgetPerSessionSats: number;
  /**
   * One budget shared by all sessions of this process. Without a configured total it is one
   * session's budget, so that opening more sessions never makes more money spendable.
   */
  totalBudgetSats: number;
  /** Whether `totalBudgetSats` is that default rather than configured. */
  totalBudgetIsDefault: boolean;
  /** A rolling window for the total, e.g. '24h' (a configured total only). */
  totalBudgetWindow?: string;
  /** The total's level name in the database. */
  totalBudgetName: string;
  /**
   * The l402kit database (ledger, tokens, spend log); undefined with --no-db, which keeps
   * everything in memory (and tokens in `tokenFile` if set), and with `databaseUrl`.
   */
  databasePath?: string;
  /**
   * A PostgreSQL database (`postgres://...`) that keeps the budgets, tokens and spend log
   * instead of the SQLite file, shared by every process that uses it. A secret: it may hold
   * a password, so only its safe form is ever shown.
   */
  databaseUrl?: string;
  maxSatsPerRequest?: number;
  /** Payments above this many sats need a person's yes, asked through MCP elicitation. */
  approveAboveSats?: number;
  allowedHosts?: string[];
  allowPrivateNetwork: boolean;
  tokenFile?: string;
  enablePayInvoice: boolean;
  enableCreateInvoice: boolean;
  /** Each request's response headers must come within this; default the core's (30 s). */
  headersTimeoutSeconds?: number;
  /** A response body must arrive in full within this; default the core's (60 s). */
  bodyTimeoutSeconds?: number;
  /** l402_fetch reads at most this much of a body; default the core's (256 KiB). */
  maxResponseBytes?: number;
  /** Serve Streamable HTTP instead of stdio. */
  http?: McpHttpConfig;
  help: boolean;
}

export interface McpHttpConfig {
  port: number;
  host: string;
  /** Bearer token clients must send; a random one is made at start when omitted. */
  authToken?: string;
  /** Browser origins allowed (`Origin` header); others are refused. */
  allowedOrigins?: string[];
  /** Names the server is reached by, checked against the `Host` header. */
  serverNames?: string[];
  maxSessions: number;
  sessionIdleSeconds: number;
}

/** A flag or environment variable has an unusable value. The message never repeats a secret. */
export class McpConfigError extends Error {
  readonly code = 'MCP_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'McpConfigError';
  }
}

export const DEFAULT_BUDGET_PER_SESSION_SATS = 1_000;
export const DEFAULT_HTTP_PORT = 3402;
/** Shorter bearer tokens could be guessed by a neighbour process trying many. */
export const MIN_AUTH_TOKEN_LENGTH = 16;

// Flag name -> environment variable; a flag wins over its variable.
const settings = {
  wallet: { type: 'string', env: 'L402KIT_WALLET' },
  'budget-sats': { type: 'string', env: 'L402KIT_BUDGET_SATS' },
  'total-budget-sats': { type: 'string', env: 'L402KIT_TOTAL_BUDGET_SATS' },
  'total-budget-window': { type: 'string', env: 'L402KIT_TOTAL_BUDGET_WINDOW' },
  'total-budget-name': { type: 'string', env: 'L402KIT_TOTAL_BUDGET_NAME' },
  db: { type: 'string', env: 'L402KIT_DB' },
  'database-url': { type: 'string', env: 'L402KIT_DATABASE_URL' },
  'no-db': { type: 'boolean', env: 'L402KIT_NO_DB' },
  'max-sats-per-request': { type: 'string', env: 'L402KIT_MAX_SATS_PER_REQUEST' },
  'approve-above-sats': { type: 'string', env: 'L402KIT_APPROVE_ABOVE_SATS' },
  'allowed-hosts': { type: 'string', env: 'L402KIT_ALLOWED_HOSTS' },
  'allow-private-network': { type: 'boolean', env: 'L402KIT_ALLOW_PRIVATE_NETWORK' },
  'token-file': { type: 'string', env: 'L402KIT_TOKEN_FILE' },
  'enable-pay-invoice': { type: 'boolean', env: 'L402KIT_ENABLE_PAY_INVOICE' },
  'enable-create-invoice': { type: 'boolean', env: 'L402KIT_ENABLE_CREATE_INVOICE' },
  'headers-timeout-seconds': { type: 'string', env: 'L402KIT_HEADERS_TIMEOUT_SECONDS' },
  'body-timeout-seconds': { type: 'string', env: 'L402KIT_BODY_TIMEOUT_SECONDS' },
  'max-response-bytes': { type: 'string', env: 'L402KIT_MAX_RESPONSE_BYTES' },
  http: { type: 'boolean', env: 'L402KIT_MCP_HTTP' },
  port: { type: 'string', env: 'L402KIT_MCP_PORT' },
  host: { type: 'string', env: 'L402KIT_MCP_HOST' },
  'auth-token': { type: 'string', env: 'L402KIT_MCP_AUTH_TOKEN' },
  'allowed-origins': { type: 'string', env: 'L402KIT_MCP_ALLOWED_ORIGINS' },
  'server-names': { type: 'string', env: 'L402KIT_MCP_SERVER_NAMES' },
  'max-sessions': { type: 'string', env: 'L402KIT_MCP_MAX_SESSIONS' },
  'session-idle-seconds': { type: 'string', env: 'L402KIT_MCP_SESSION_IDLE_SECONDS' },
  help: { type: 'boolean', env: undefined, short: 'h' },
} as const;

/** Each option of --help: flag, environment variable, what it does. */
const usageRows: [flag: string, variable: string, meaning: string][] = [
  [
    '--wallet <url>',
    'L402KIT_WALLET',
    'wallet URL (required), e.g. nostr+walletconnect://..., lnbits://..., sandbox:',
  ],
  [
    '--budget-sats <n>',
    'L402KIT_BUDGET_SATS',
    `budget of each session (default ${DEFAULT_BUDGET_PER_SESSION_SATS})`,
  ],
  [
    '--total-budget-sats <n>',
    'L402KIT_TOTAL_BUDGET_SATS',
    "budget shared by all sessions, kept in the database so it survives restarts (default: one session's budget, in memory)",
  ],
  [
    '--total-budget-window <w>',
    'L402KIT_TOTAL_BUDGET_WINDOW',
    'make that total rolling: 1h, 24h, 7d, ... (default: a total for ever)',
  ],
  [
    '--total-budget-name <name>',
    'L402KIT_TOTAL_BUDGET_NAME',
    "the total's level in the database (default mcp)",
  ],
  [
    '--db <path>',
    'L402KIT_DB',
    'the l402kit database: budgets, tokens, spend log (default ~/.l402kit/l402kit.db)',
  ],
  [
    '--database-url <url>',
    'L402KIT_DATABASE_URL',
    'postgres://... : budgets, tokens, spend log in PostgreSQL instead, shared by a fleet (needs @l402kit/postgres; run `l402kit db migrate` first)',
  ],
  [
    '--no-db',
    'L402KIT_NO_DB',
    'keep budgets and tokens in memory only (a restart resets the total)',
  ],
  [
    '--max-sats-per-request <n>',
    'L402KIT_MAX_SATS_PER_REQUEST',
    'highest price paid for one request',
  ],
  [
    '--approve-above-sats <n>',
    'L402KIT_APPROVE_ABOVE_SATS',
    'ask the person (MCP elicitation) before paying more than this; clients that cannot ask are refused',
  ],
  [
    '--allowed-hosts <list>',
    'L402KIT_ALLOWED_HOSTS',
    'comma-separated hosts that may be fetched (e.g. api.example.com,*.example.org)',
  ],
  [
    '--allow-private-network',
    'L402KIT_ALLOW_PRIVATE_NETWORK',
    'allow loopback and private addresses (off by default)',
  ],
  [
    '--token-file <path>',
    'L402KIT_TOKEN_FILE',
    'with --no-db: keep bought tokens in this file; otherwise imported into the database once',
  ],
  ['--enable-pay-invoice', 'L402KIT_ENABLE_PAY_INVOICE', 'offer the pay_invoice tool'],
  ['--enable-create-invoice', 'L402KIT_ENABLE_CREATE_INVOICE', 'offer the create_invoice tool'],
  [
    '--headers-timeout-seconds <n>',
    'L402KIT_HEADERS_TIMEOUT_SECONDS',
    "each response's headers must come within this (default 30)",
  ],
  [
    '--body-timeout-seconds <n>',
    'L402KIT_BODY_TIMEOUT_SECONDS',
    'each response body must arrive in full within this (default 60)',
  ],
  [
    '--max-response-bytes <n>',
    'L402KIT_MAX_RESPONSE_BYTES',
    'l402_fetch reads at most this much of a body (default 262144)',
  ],
  ['--http', 'L402KIT_MCP_HTTP', 'serve Streamable HTTP instead of stdio'],
  ['--port <n>', 'L402KIT_MCP_PORT', `HTTP port (default ${DEFAULT_HTTP_PORT})`],
  ['--host <host>', 'L402KIT_MCP_HOST', 'HTTP listen address (default 127.0.0.1)'],
  [
    '--auth-token <token>',
    'L402KIT_MCP_AUTH_TOKEN',
    `bearer token HTTP clients must send, ${MIN_AUTH_TOKEN_LENGTH}+ characters (default: a random one, printed to stderr)`,
  ],
  [
    '--allowed-origins <list>',
    'L402KIT_MCP_ALLOWED_ORIGINS',
    'comma-separated browser origins allowed over HTTP (default: none; other Origins get 403)',
  ],
  [
    '--server-names <list>',
    'L402KIT_MCP_SERVER_NAMES',
    'comma-separated names the HTTP server is reached by (checked against Host)',
  ],
  [
    '--max-sessions <n>',
    'L402KIT_MCP_MAX_SESSIONS',
    `live HTTP sessions at most (default ${DEFAULT_MAX_SESSIONS})`,
  ],
  [
    '--session-idle-seconds <n>',
    'L402KIT_MCP_SESSION_IDLE_SECONDS',
    `close an HTTP session idle this long (default ${DEFAULT_SESSION_IDLE_TIMEOUT_MS / 1000})`,
  ],
  ['-h, --help', '', 'show this help'],
];

export const MCP_SERVER_USAGE = `Usage: l402kit-mcp [options]

An MCP server giving agents l402kit tools: fetch paid (L402) URLs within a hard budget.
Speaks MCP over stdio, or Streamable HTTP with --http. Each MCP session has its own budget.

Options (each also read from the environment variable shown):
${usageTable(usageRows)}`;

/** Rows in three columns, each as wide as its longest entry, so every line lines up. */
function usageTable(rows: [string, string, string][]): string {
  const flagWidth = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const variableWidth = Math.max(...rows.map(([, variable]) => variable.length)) + 2;
  return rows
    .map(
      ([flag, variable, meaning]) =>
        `  ${flag.padEnd(flagWidth)}${variable.padEnd(variableWidth)}${meaning}\n`,
    )
    .join('');
}

/** Reads the configuration from command-line flags (first) and environment variables. */
export function parseMcpConfig(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): McpServerConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries(settings).map(([name, setting]) => [
        name,
        { type: setting.type, ...('short' in setting ? { short: setting.short } : {}) },
      ]),
    ) as Record<keyof typeof settings, { type: 'string' | 'boolean'; short?: string }>;
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // parseArgs errors quote the offending argument, which may be a secret given by mistake.
    const code = (error as { code?: string }).code ?? 'invalid arguments';
    throw new McpConfigError(`${describeArgsError(code, argv)}; see --help`);
  }
  const read = (name: keyof typeof settings): string | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    const variable = settings[name].env;
    const fromEnv = variable === undefined ? undefined : env[variable];
    return fromEnv === undefined || fromEnv.trim() === '' ? undefined : fromEnv.trim();
  };
  const flagOrEnvBoolean = (name: keyof typeof settings): boolean =>
    values[name] === true || parseBoolean(read(name), name);
  const help = values.help === true;

  const walletUrl = read('wallet');
  if (walletUrl === undefined && !help) {
    throw new McpConfigError(
      'no wallet: set L402KIT_WALLET (or --wallet) to a wallet URL such as nostr+walletconnect://..., lnbits://...@host or sandbox: to try it without money',
    );
  }
  const allowedHosts = parseList(read('allowed-hosts'));
  const http = flagOrEnvBoolean('http');
  const budgetPerSessionSats =
    parseSats(read('budget-sats'), 'budget-sats') ?? DEFAULT_BUDGET_PER_SESSION_SATS;
  const totalBudgetSats = parseSats(read('total-budget-sats'), 'total-budget-sats');
  const totalBudgetWindow = read('total-budget-window');
  if (totalBudgetWindow !== undefined) {
    if (totalBudgetSats === undefined) {
      throw new McpConfigError('total-budget-window needs total-budget-sats');
    }
    try {
      parseWindow(totalBudgetWindow);
    } catch {
      throw new McpConfigError('total-budget-window must be a duration such as 1h, 24h or 7d');
    }
  }
  const noDb = flagOrEnvBoolean('no-db');
  const databaseUrl = noDb ? undefined : read('database-url');
  if (databaseUrl !== undefined && read('db') !== undefined) {
    throw new McpConfigError(
      'give either db (a SQLite file) or database-url (PostgreSQL), not both',
    );
  }
  return {
    walletUrl: walletUrl ?? '',
    budgetPerSessionSats,
    totalBudgetSats: totalBudgetSats ?? budgetPerSessionSats,
    totalBudgetIsDefault: totalBudgetSats === undefined,
    ...optional('totalBudgetWindow', totalBudgetWindow),
    totalBudgetName: read('total-budget-name') ?? 'mcp',
    ...optional(
      'databasePath',
      noDb || databaseUrl !== undefined ? undefined : (read('db') ?? defaultDatabasePath(env)),
    ),
    ...optional('databaseUrl', databaseUrl),
    maxSatsPerRequest: parseSats(read('max-sats-per-request'), 'max-sats-per-request'),
    ...optional(
      'approveAboveSats',
      // 0 is allowed: a person approves every payment.
      read('approve-above-sats') === '0'
        ? 0
        : parseSats(read('approve-above-sats'), 'approve-above-sats'),
    ),
    ...(allowedHosts === undefined ? {} : { allowedHosts }),
    allowPrivateNetwork: flagOrEnvBoolean('allow-private-network'),
    ...(read('token-file') === undefined ? {} : { tokenFile: read('token-file') }),
    enablePayInvoice: flagOrEnvBoolean('enable-pay-invoice'),
    enableCreateInvoice: flagOrEnvBoolean('enable-create-invoice'),
    ...optional(
      'headersTimeoutSeconds',
      parseSeconds(read('headers-timeout-seconds'), 'headers-timeout-seconds'),
    ),
    ...optional(
      'bodyTimeoutSeconds',
      parseSeconds(read('body-timeout-seconds'), 'body-timeout-seconds'),
    ),
    ...optional('maxResponseBytes', parseCount(read('max-response-bytes'), 'max-response-bytes')),
    ...(http ? { http: parseHttpConfig(read) } : {}),
    help,
  };
}

function parseHttpConfig(read: (name: keyof typeof settings) => string | undefined): McpHttpConfig {
  const authToken = read('auth-token');
  if (authToken !== undefined && authToken.length < MIN_AUTH_TOKEN_LENGTH) {
    throw new McpConfigError(
      `auth-token must be at least ${MIN_AUTH_TOKEN_LENGTH} characters (leave it unset to get a random one)`,
    );
  }
  const allowedOrigins = parseList(read('allowed-origins'));
  for (const origin of allowedOrigins ?? []) {
    if (!isOrigin(origin)) {
      throw new McpConfigError(
        `allowed-origins: ${origin.slice(0, 80)} is not an origin such as https://app.example.com`,
      );
    }
  }
  const serverNames = parseList(read('server-names'));
  return {
    port: parsePort(read('port')),
    host: read('host') ?? '127.0.0.1',
    ...(authToken === undefined ? {} : { authToken }),
    ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
    ...(serverNames === undefined ? {} : { serverNames }),
    maxSessions: parseCount(read('max-sessions'), 'max-sessions') ?? DEFAULT_MAX_SESSIONS,
    sessionIdleSeconds:
      parseSeconds(read('session-idle-seconds'), 'session-idle-seconds') ??
      DEFAULT_SESSION_IDLE_TIMEOUT_MS / 1000,
  };
}

function optional<Key extends string, Value>(
  key: Key,
  value: Value | undefined,
): { [K in Key]?: Value } {
  return (value === undefined ? {} : { [key]: value }) as { [K in Key]?: Value };
}

function parseList(text: string | undefined): string[] | undefined {
  return text
    ?.split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    // Scheme, host and port only, as browsers send it in the Origin header.
    const bare = url.pathname === '/' && url.search === '' && url.hash === '';
    return url.origin !== 'null' && bare && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

function parseCount(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new McpConfigError(`${name} must be a whole number of at least 1`);
  }
  return value;
}

function parseSeconds(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+(\.\d{1,3})?$/.test(text) || !(value >= 0.001) || value > 2_147_483) {
    throw new McpConfigError(`${name} must be a number of seconds from 0.001 to 2147483`);
  }
  return value;
}

function parseSats(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+(\.\d{1,3})?$/.test(text) || !Number.isFinite(value) || value <= 0) {
    throw new McpConfigError(`${name} must be a positive number of sats (at most 3 decimals)`);
  }
  return value;
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return DEFAULT_HTTP_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) {
    throw new McpConfigError('port must be a whole number from 0 to 65535');
  }
  return port;
}

function parseBoolean(text: string | undefined, name: string): boolean {
  if (text === undefined) return false;
  const lower = text.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw new McpConfigError(`${name} must be true or false`);
}

function describeArgsError(code: string, argv: readonly string[]): string {
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      // Name the option without any value glued to it with "=".
      const unknown = argv
        .filter((argument) => argument.startsWith('-'))
        .map((argument) => argument.split('=')[0]!)
        .find((option) => option !== '-h' && !(option.replace(/^--?/, '') in settings));
      return unknown === undefined ? 'unknown option' : `unknown option ${unknown.slice(0, 40)}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return 'an option is missing its value or has a value it does not take';
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return 'unexpected argument';
    default:
      return 'invalid arguments';
  }
}
