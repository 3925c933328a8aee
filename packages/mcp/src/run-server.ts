import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  createBudget,
  createPaidFetch,
  createSharedBudget,
  DEFAULT_PAYMENT_TIMEOUT_MS,
  defaultDatabasePath,
  FileTokenStore,
  openDurableState,
  settleOpenReservations,
  type Wallet,
} from '@l402kit/core';
import { walletFromUrl } from '@l402kit/wallets';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { type McpServerConfig, parseMcpConfig, MCP_SERVER_USAGE } from './config.js';
import { createL402McpServer } from './create-server.js';
import { openDatabaseUrl, type SharedDatabase } from './database-url.js';
import { startMcpHttpServer } from './http-server.js';

export interface RunMcpServerIo {
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
  /** Where logs go; never stdout, which carries the protocol. */
  stderr?: { write(text: string): unknown };
}

export interface RunningMcpServer {
  /** The Streamable HTTP endpoint, when serving HTTP. */
  url?: string;
  close(): Promise<void>;
}

/**
 * Runs the l402kit MCP server as configured by flags and environment variables (see
 * `l402kit-mcp --help`): over stdio, or Streamable HTTP with `--http`. Resolves once it is
 * serving. Configuration errors throw `McpConfigError` or `WalletConfigError`.
 */
export async function runMcpServer(
  argv: readonly string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
  io: RunMcpServerIo = {},
): Promise<RunningMcpServer> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const config = parseMcpConfig(argv, env);
  if (config.help) {
    stdout.write(MCP_SERVER_USAGE);
    return { close: async () => {} };
  }
  const log = (message: string) => stderr.write(`l402kit-mcp: ${message}\n`);

  const wallet = walletFromUrl(config.walletUrl);
  const state = await openState(config, env, log);
  const tokenStore =
    state?.tokenStore ??
    (config.tokenFile === undefined ? undefined : new FileTokenStore(config.tokenFile));
  // A configured total lives in the database, so a restart does not reset it; the default
  // total (one session's budget) stays per process. Above it: the operator's shared levels
  // (`l402kit budget set`), and under it each session's own budget, in memory.
  const durableTotal = state !== undefined && !config.totalBudgetIsDefault;
  const sharedBudget = createBudget({
    name: durableTotal ? config.totalBudgetName : 'all sessions',
    maxSats: config.totalBudgetSats,
    ...(config.totalBudgetWindow === undefined ? {} : { window: config.totalBudgetWindow }),
    ...(config.maxSatsPerRequest === undefined
      ? {}
      : { maxSatsPerRequest: config.maxSatsPerRequest }),
    ...(state === undefined ? {} : { parent: createSharedBudget(state.ledger) }),
    ...(durableTotal ? { ledger: state.ledger } : {}),
  });
  const paidFetch = createPaidFetch({
    wallet,
    budget: sharedBudget,
    ...(tokenStore === undefined ? {} : { tokenStore }),
    ...(state === undefined ? {} : { spendLog: state.spendLog }),
    policy: {
      allowPrivateNetwork: config.allowPrivateNetwork,
      ...(config.allowedHosts === undefined ? {} : { allowedHosts: config.allowedHosts }),
      ...(config.maxSatsPerRequest === undefined
        ? {}
        : { maxSatsPerRequest: config.maxSatsPerRequest }),
      ...(config.approveAboveSats === undefined
        ? {}
        : { approveAboveSats: config.approveAboveSats }),
    },
    ...(config.headersTimeoutSeconds === undefined
      ? {}
      : { headersTimeoutMs: Math.ceil(config.headersTimeoutSeconds * 1000) }),
    ...(config.bodyTimeoutSeconds === undefined
      ? {}
      : { bodyTimeoutMs: Math.ceil(config.bodyTimeoutSeconds * 1000) }),
  });
  if (state !== undefined) await resolveLeftovers(state, paidFetch, wallet, log);
  let sessionNumber = 0;
  const createSessionServer = () =>
    createL402McpServer({
      paidFetch,
      budgetPerSessionSats: config.budgetPerSessionSats,
      sessionName: `session ${++sessionNumber}`,
      enablePayInvoice: config.enablePayInvoice,
      enableCreateInvoice: config.enableCreateInvoice,
      ...(config.maxResponseBytes === undefined
        ? {}
        : { maxResponseBytes: config.maxResponseBytes }),
    });
  log(describeConfig(config, wallet, state?.location));

  if (config.http) {
    const { authToken, allowedOrigins, serverNames } = config.http;
    const http = await startMcpHttpServer({
      createSessionServer,
      port: config.http.port,
      host: config.http.host,
      ...(authToken === undefined ? {} : { authToken }),
      ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
      ...(serverNames === undefined ? {} : { serverNames }),
      maxSessions: config.http.maxSessions,
      sessionIdleTimeoutMs: Math.ceil(config.http.sessionIdleSeconds * 1000),
    });
    if (http.authTokenGenerated) {
      // Printed once so the operator can hand it to the MCP client; a configured token never is.
      log(
        `no --auth-token set; clients must send this header (valid until the server stops): Authorization: Bearer ${http.authToken}`,
      );
    }
    if (!isLoopback(config.http.host)) {
      log(
        `warning: serving plain HTTP on ${config.http.host}: the bearer token crosses the network in clear; put TLS in front`,
      );
    }
    log(`serving MCP over Streamable HTTP at ${http.url}`);
    return {
      url: http.url,
      async close() {
        await http.close();
        await wallet.close?.();
        await state?.close();
      },
    };
  }

  const server = createSessionServer();
  const transport = new StdioServerTransport((io.stdin ?? process.stdin) as never, stdout as never);
  await server.connect(transport);
  log('serving MCP over stdio');
  return {
    async close() {
      await server.close();
      await wallet.close?.();
      await state?.close();
    },
  };
}

/** Budgets, tokens and spend log kept across restarts: a SQLite file or a PostgreSQL database. */
type DurableStores = Omit<SharedDatabase, 'close'> & { close(): void | Promise<void> };

/**
 * The PostgreSQL database with --database-url, else the SQLite database unless --no-db (the
 * old token and spend files are imported into the default one once).
 */
async function openState(
  config: McpServerConfig,
  env: Record<string, string | undefined>,
  log: (message: string) => void,
): Promise<DurableStores | undefined> {
  if (config.databaseUrl !== undefined) return openDatabaseUrl(config.databaseUrl);
  if (config.databasePath === undefined) return undefined;
  // The files older versions kept in ~/.l402kit belong to the default database only.
  const isDefault = config.databasePath === defaultDatabasePath({ ...env, L402KIT_DB: '' });
  const home = join(homedir(), '.l402kit');
  const state = await openDurableState({
    path: config.databasePath,
    legacyFiles: {
      ...(config.tokenFile !== undefined
        ? { tokenFile: config.tokenFile }
        : isDefault
          ? { tokenFile: join(home, 'tokens.json') }
          : {}),
      ...(isDefault ? { spendLog: join(home, 'spend.jsonl') } : {}),
    },
    log,
  });
  return { ...state, location: config.databasePath };
}

/**
 * Payments a previous run left pending (a crash, an unknown outcome) are resolved through the
 * wallet before serving: tokens become usable or are dropped, reservations are charged to the
 * levels they were made under, or stay counted while the wallet cannot tell.
 */
async function resolveLeftovers(
  state: DurableStores,
  paidFetch: ReturnType<typeof createPaidFetch>,
  wallet: Wallet,
  log: (message: string) => void,
): Promise<void> {
  const tokens = await paidFetch.resolvePending();
  const books = await settleOpenReservations(state.ledger, wallet, {
    staleAfterMs: DEFAULT_PAYMENT_TIMEOUT_MS + 5_000,
  });
  if (tokens.length + books.committed + books.released + books.stillOpen > 0) {
    const outcome = (name: string) => tokens.filter((token) => token.outcome === name).length;
    log(
      `resolved payments left pending by an earlier run: tokens ${outcome('paid')} paid, ${outcome('failed')} failed, ${outcome('pending')} still unknown; budget reservations ${books.committed} charged, ${books.released} released, ${books.stillOpen} still counted until the wallet can tell`,
    );
  }
}

function describeConfig(config: McpServerConfig, wallet: Wallet, location?: string): string {
  // Names the wallet kind only: the URL holds its secret.
  const parts = [
    `wallet ${wallet.name}`,
    `budget ${config.budgetPerSessionSats} sats per session`,
    config.totalBudgetIsDefault
      ? `${config.totalBudgetSats} sats across all sessions (default: one session's budget; set L402KIT_TOTAL_BUDGET_SATS to allow more)`
      : `${config.totalBudgetSats} sats across all sessions${config.totalBudgetWindow === undefined ? '' : ` per ${config.totalBudgetWindow}`}${location === undefined ? '' : ` (level "${config.totalBudgetName}", kept across restarts${config.databaseUrl === undefined ? '' : ' and shared by every process using the database'})`}`,
    location === undefined
      ? 'budgets and tokens in memory only (--no-db)'
      : `budgets, tokens and spend log in ${location}`,
  ];
  if (config.maxSatsPerRequest !== undefined)
    parts.push(`at most ${config.maxSatsPerRequest} sats per request`);
  if (config.approveAboveSats !== undefined)
    parts.push(`a person approves each payment above ${config.approveAboveSats} sats`);
  if (config.allowedHosts !== undefined) parts.push(`hosts ${config.allowedHosts.join(', ')}`);
  if (config.allowPrivateNetwork) parts.push('private network allowed');
  if (config.tokenFile !== undefined && location === undefined) parts.push('tokens kept in a file');
  if (config.enablePayInvoice) parts.push('pay_invoice on');
  if (config.enableCreateInvoice) parts.push('create_invoice on');
  if (config.http) {
    parts.push(
      `at most ${config.http.maxSessions} sessions, each closed after ${config.http.sessionIdleSeconds} s idle`,
    );
    if (config.http.allowedOrigins !== undefined)
      parts.push(`browser origins ${config.http.allowedOrigins.join(', ')}`);
  }
  return parts.join('; ');
}

function isLoopback(host: string): boolean {
  return ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);
}
