import { parseArgs } from 'node:util';

/** Everything the l402kit-mcp binary is configured with, from flags and environment variables. */
export interface McpServerConfig {
  /** Wallet connection URL; a secret, never logged. */
  walletUrl: string;
  /** Each session's own budget. */
  budgetPerSessionSats: number;
  /** One budget shared by all sessions of this process; none when omitted. */
  totalBudgetSats?: number;
  maxSatsPerRequest?: number;
  allowedHosts?: string[];
  allowPrivateNetwork: boolean;
  tokenFile?: string;
  enablePayInvoice: boolean;
  enableCreateInvoice: boolean;
  /** Serve Streamable HTTP instead of stdio. */
  http?: { port: number; host: string; authToken?: string };
  help: boolean;
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

// Flag name -> environment variable; a flag wins over its variable.
const settings = {
  wallet: { type: 'string', env: 'L402KIT_WALLET' },
  'budget-sats': { type: 'string', env: 'L402KIT_BUDGET_SATS' },
  'total-budget-sats': { type: 'string', env: 'L402KIT_TOTAL_BUDGET_SATS' },
  'max-sats-per-request': { type: 'string', env: 'L402KIT_MAX_SATS_PER_REQUEST' },
  'allowed-hosts': { type: 'string', env: 'L402KIT_ALLOWED_HOSTS' },
  'allow-private-network': { type: 'boolean', env: 'L402KIT_ALLOW_PRIVATE_NETWORK' },
  'token-file': { type: 'string', env: 'L402KIT_TOKEN_FILE' },
  'enable-pay-invoice': { type: 'boolean', env: 'L402KIT_ENABLE_PAY_INVOICE' },
  'enable-create-invoice': { type: 'boolean', env: 'L402KIT_ENABLE_CREATE_INVOICE' },
  http: { type: 'boolean', env: 'L402KIT_MCP_HTTP' },
  port: { type: 'string', env: 'L402KIT_MCP_PORT' },
  host: { type: 'string', env: 'L402KIT_MCP_HOST' },
  'auth-token': { type: 'string', env: 'L402KIT_MCP_AUTH_TOKEN' },
  help: { type: 'boolean', env: undefined, short: 'h' },
} as const;

export const MCP_SERVER_USAGE = `Usage: l402kit-mcp [options]

An MCP server giving agents l402kit tools: fetch paid (L402) URLs within a hard budget.
Speaks MCP over stdio, or Streamable HTTP with --http. Each MCP session has its own budget.

Options (each also read from the environment variable shown):
  --wallet <url>               L402KIT_WALLET                 wallet URL (required), e.g. nostr+walletconnect://..., lnbits://..., sandbox:
  --budget-sats <n>            L402KIT_BUDGET_SATS            budget of each session (default ${DEFAULT_BUDGET_PER_SESSION_SATS})
  --total-budget-sats <n>      L402KIT_TOTAL_BUDGET_SATS      budget shared by all sessions of this process
  --max-sats-per-request <n>   L402KIT_MAX_SATS_PER_REQUEST   highest price paid for one request
  --allowed-hosts <list>       L402KIT_ALLOWED_HOSTS          comma-separated hosts that may be fetched (e.g. api.example.com,*.example.org)
  --allow-private-network      L402KIT_ALLOW_PRIVATE_NETWORK  allow loopback and private addresses (off by default)
  --token-file <path>          L402KIT_TOKEN_FILE             keep bought tokens in this file (default: in memory)
  --enable-pay-invoice         L402KIT_ENABLE_PAY_INVOICE     offer the pay_invoice tool
  --enable-create-invoice      L402KIT_ENABLE_CREATE_INVOICE  offer the create_invoice tool
  --http                       L402KIT_MCP_HTTP               serve Streamable HTTP instead of stdio
  --port <n>                   L402KIT_MCP_PORT               HTTP port (default ${DEFAULT_HTTP_PORT})
  --host <host>                L402KIT_MCP_HOST               HTTP listen address (default 127.0.0.1)
  --auth-token <token>         L402KIT_MCP_AUTH_TOKEN         require "Authorization: Bearer <token>" over HTTP
  -h, --help                                                  show this help
`;

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
  const allowedHosts = read('allowed-hosts')
    ?.split(',')
    .map((host) => host.trim())
    .filter((host) => host !== '');
  const http = flagOrEnvBoolean('http');
  const authToken = read('auth-token');
  return {
    walletUrl: walletUrl ?? '',
    budgetPerSessionSats:
      parseSats(read('budget-sats'), 'budget-sats') ?? DEFAULT_BUDGET_PER_SESSION_SATS,
    totalBudgetSats: parseSats(read('total-budget-sats'), 'total-budget-sats'),
    maxSatsPerRequest: parseSats(read('max-sats-per-request'), 'max-sats-per-request'),
    ...(allowedHosts === undefined ? {} : { allowedHosts }),
    allowPrivateNetwork: flagOrEnvBoolean('allow-private-network'),
    ...(read('token-file') === undefined ? {} : { tokenFile: read('token-file') }),
    enablePayInvoice: flagOrEnvBoolean('enable-pay-invoice'),
    enableCreateInvoice: flagOrEnvBoolean('enable-create-invoice'),
    ...(http
      ? {
          http: {
            port: parsePort(read('port')),
            host: read('host') ?? '127.0.0.1',
            ...(authToken === undefined ? {} : { authToken }),
          },
        }
      : {}),
    help,
  };
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
