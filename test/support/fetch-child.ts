import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const childScript = fileURLToPath(new URL('./race-child.ts', import.meta.url));

/** One line a fetch child prints: `ready`, then per URL the response or the error. */
export interface FetchOutcome {
  ready?: boolean;
  status?: number;
  body?: string;
  receipt?: { paid: boolean; usedCachedToken: boolean; amountMsat: string; paymentHash?: string };
  error?: Record<string, unknown>;
}

/**
 * Another process with its own paid fetch (race-child.ts): it fetches each URL written to its
 * stdin and answers with one JSON line. Env: WALLET_URL (see serveWallet), TOKEN_FILE.
 */
export function startFetchChild(env: Record<string, string>) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--conditions=@l402kit/source', '--import', 'tsx', childScript],
    { cwd: root, env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async next(): Promise<FetchOutcome> {
      const line = await lines.next();
      if (line.done) throw new Error(`child exited: ${stderr.slice(-2000)}`);
      return JSON.parse(line.value) as FetchOutcome;
    },
    fetch(url: string) {
      child.stdin.write(`${url}\n`);
    },
    kill() {
      child.kill();
    },
  };
}
