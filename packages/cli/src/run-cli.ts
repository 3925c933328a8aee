import { describeArgsError } from './args-error.js';
import type { CliIo } from './cli-io.js';
import { EXIT_CODES } from './exit-codes.js';
import { UsageError } from './usage-error.js';

export const CLI_USAGE = `Usage: l402kit <command> [options]

Commands:
  fetch <url>      fetch a URL, paying its L402 challenge within --max-sats (like curl)
  tokens           list, show, remove or clear the tokens bought so far
  spend            recent payments from the spend log, with totals
  budget           the durable budget levels (e.g. a daily limit) every payment is charged to
  db migrate       create or upgrade the tables in a PostgreSQL database (L402KIT_DATABASE_URL)
  mcp              run the l402kit MCP server (Claude Desktop, Cursor, CrewAI)
  sandbox          start a sandbox Lightning network, the example paid API and a funded wallet

Run \`l402kit <command> --help\` for a command's options. The wallet comes from L402KIT_WALLET
(e.g. nostr+walletconnect://..., lnbits://..., phoenixd://..., sandbox:).`;

const commands: Record<string, () => Promise<(argv: string[], io: CliIo) => Promise<number>>> = {
  fetch: async () => (await import('./fetch-command.js')).fetchCommand,
  tokens: async () => (await import('./tokens-command.js')).tokensCommand,
  spend: async () => (await import('./spend-command.js')).spendCommand,
  budget: async () => (await import('./budget-command.js')).budgetCommand,
  db: async () => (await import('./db-command.js')).dbCommand,
  mcp: async () => (await import('./mcp-command.js')).mcpCommand,
  sandbox: async () => (await import('./sandbox-command.js')).sandboxCommand,
};

/** Runs one `l402kit` command line and returns its exit code (see `EXIT_CODES`). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${CLI_USAGE}\n`);
    return name === undefined ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  const load = commands[name];
  if (load === undefined) {
    io.stderr.write(`l402kit: unknown command "${name}"\n\n${CLI_USAGE}\n`);
    return EXIT_CODES.usage;
  }
  try {
    return await (await load())(rest, io);
  } catch (error) {
    return reportFailure(error, name, rest, io);
  }
}

function reportFailure(
  error: unknown,
  command: string,
  argv: readonly string[],
  io: CliIo,
): number {
  const code = (error as { code?: unknown })?.code;
  if (
    error instanceof UsageError ||
    (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
  ) {
    const message =
      error instanceof UsageError
        ? error.message
        : describeArgsError(code as string, (error as Error).message, argv);
    io.stderr.write(`l402kit ${command}: ${message}\n`);
    if (error instanceof UsageError && error.usage) io.stderr.write(`\n${error.usage}\n`);
    return EXIT_CODES.usage;
  }
  if (
    typeof code === 'string' &&
    /^(WALLET_CONFIG|TOKEN_STORE|MCP_CONFIG|DATABASE_UNAVAILABLE)$/.test(code)
  ) {
    io.stderr.write(`l402kit ${command}: ${(error as Error).message}\n`);
    return EXIT_CODES.config;
  }
  // Anything else is shown by class only: its message could carry a wallet URL or a token.
  const name = (error as Error)?.name ?? 'Error';
  io.stderr.write(
    `l402kit ${command}: unexpected ${name}${typeof code === 'string' ? ` (${code})` : ''}\n`,
  );
  return EXIT_CODES.error;
}
