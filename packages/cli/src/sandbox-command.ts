import { parseArgs } from 'node:util';
import type { CliIo } from './cli-io.js';
import { styles } from './cli-io.js';
import { EXIT_CODES } from './exit-codes.js';
import { UsageError } from './usage-error.js';

export const SANDBOX_USAGE = `Usage: l402kit sandbox [--port <n>] [--wallet-port <n>] [--balance-sats <n>]

Starts, on this machine and with no real money: a sandbox Lightning network, the example
research API selling over L402 on it, and a funded buyer wallet served over an
LNbits-compatible HTTP API. Prints the environment that points \`l402kit fetch\`, the MCP
server or an agent at them. Runs until Ctrl-C.

  --port <n>          research API port (default 8402; 0 for any free port)
  --wallet-port <n>   buyer wallet port (default 8403; 0 for any free port)
  --balance-sats <n>  the buyer's sandbox balance (default 10000)`;

export async function sandboxCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8402' },
      'wallet-port': { type: 'string', default: '8403' },
      'balance-sats': { type: 'string', default: '10000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${SANDBOX_USAGE}\n`);
    return EXIT_CODES.ok;
  }
  const port = wholeNumber(values.port, 'port');
  const walletPort = wholeNumber(values['wallet-port'], 'wallet-port');
  const balanceSats = wholeNumber(values['balance-sats'], 'balance-sats');
  // Loaded only for this command, so that `l402kit fetch` does not load the example API.
  const research = await import('@l402kit/research-api');
  const sandbox = await research.startResearchSandbox({
    balanceSats,
    serveWallet: true,
    apiPort: port,
    walletPort,
  });
  const style = styles(io.stdout, io.env);
  const api = sandbox.api.url;
  io.stdout.write(
    [
      style.bold('l402kit sandbox is running (no real money).'),
      `  research API  ${api}  (search 2 sats, articles 2-28 sats, datasets 500+ sats)`,
      `  buyer wallet  ${balanceSats.toLocaleString('en-US')} sandbox sats, LNbits-compatible API at ${sandbox.walletServer!.url}`,
      '',
      'Point l402kit at them (in another terminal):',
      `  export L402KIT_WALLET='${sandbox.walletServer!.walletUrl}'`,
      '  export L402KIT_ALLOW_PRIVATE_NETWORK=1',
      `  l402kit fetch --dry-run '${api}/v1/search?q=lightning+fees'`,
      `  l402kit fetch '${api}/v1/search?q=lightning+fees'`,
      '  l402kit spend',
      `  l402kit mcp    # an MCP server for Claude Desktop, Cursor or CrewAI with the same env`,
      `  RESEARCH_API_URL=${api} pnpm --filter @l402kit/example-research-agent start   # in a clone of l402kit`,
      '',
      style.dim('Ctrl-C stops it; the sandbox and its balances vanish with it.'),
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await sandbox.close();
  return EXIT_CODES.ok;
}

function wholeNumber(text: string, name: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new UsageError(`--${name} must be a whole number`, SANDBOX_USAGE);
  }
  return value;
}
