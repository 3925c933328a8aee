// A process that dies between paying and storing its token must not pay again after a
// restart: the pending record in the file store is resolved through the wallet's lookup.
// The sandbox and the paywall live in this process; the child pays through an HTTP wallet.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileTokenStore } from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoopbackServer } from './support/serve-fetch.js';
import { type PaidApi, startPaidApi } from './support/paid-api.js';
import { serveWallet } from './support/wallet-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const childScript = fileURLToPath(new URL('./support/crash-child.ts', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output:
    | {
        status?: number;
        body?: string;
        receipt?: Record<string, unknown>;
        error?: Record<string, unknown>;
      }
    | undefined;
}

function runChild(env: Record<string, string>, onSpawn?: (child: ChildProcess) => void) {
  return new Promise<ChildResult>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@l402kit/source', '--import', 'tsx', childScript],
      { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = stdout.trim().split('\n').pop();
      if (code !== 0 && code !== 2 && signal === null) {
        reject(new Error(`child exited with ${code}: ${stderr.slice(-2000)}`));
        return;
      }
      resolve({ code, signal, output: line ? JSON.parse(line) : undefined });
    });
    onSpawn?.(child);
  });
}

async function setUp(hooks?: Parameters<typeof serveWallet>[1]) {
  const api: PaidApi = await startPaidApi();
  cleanups.push(api.close);
  const walletServer: LoopbackServer = await serveWallet(api.payer.wallet, hooks);
  cleanups.push(walletServer.close);
  const directory = await mkdtemp(join(tmpdir(), 'l402kit-crash-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  const tokenFile = join(directory, 'tokens.json');
  const env = {
    WALLET_URL: walletServer.url,
    TOKEN_FILE: tokenFile,
    RESOURCE_URL: `${api.url}/report`,
  };
  return { api, env, tokenFile };
}

describe('crash safety: killed between paying and storing the token', () => {
  it('does not pay again after a restart; the resolved token delivers the resource', async () => {
    const { api, env, tokenFile } = await setUp();

    const crashed = await runChild({ ...env, CRASH_AFTER_PAY: '1' });
    expect(crashed.signal).toBe('SIGKILL');
    expect(api.network.payments.map((payment) => payment.state)).toEqual(['succeeded']);
    const [pending] = await new FileTokenStore(tokenFile).list();
    expect(pending).toMatchObject({
      state: 'pending',
      paymentHash: api.network.payments[0]?.paymentHash,
    });
    expect(pending?.preimage).toBeUndefined();

    const restarted = await runChild(env);
    expect(restarted.code).toBe(0);
    expect(restarted.output).toMatchObject({
      status: 200,
      receipt: { paid: false, paymentHash: api.network.payments[0]?.paymentHash },
    });
    expect(JSON.parse(restarted.output?.body ?? '{}')).toMatchObject({ path: '/report' });
    expect(api.network.payments).toHaveLength(1);
    expect(api.payer.balanceMsat).toBe(100_000_000n - 10_000n);
    expect((await new FileTokenStore(tokenFile).list()).map((token) => token.state)).toEqual([
      'paid',
    ]);

    const again = await runChild(env);
    expect(again.output).toMatchObject({ status: 200, receipt: { usedCachedToken: true } });
    expect(api.network.payments).toHaveLength(1);
  }, 60_000);

  it('killed with the payment still in flight: refuses to pay while it is pending, delivers once it settles', async () => {
    let child: ChildProcess | undefined;
    const { api, env: baseEnv } = await setUp({
      // The payment is sent and hangs; the process dies before hearing anything back.
      onPayStarted: () => child?.kill('SIGKILL'),
    });
    api.payer.injectFault({ kind: 'hang-then-settle' });
    // A payment recorded less than the payment timeout ago may be another live process's, so a
    // restart waits that long for it before giving up; kept short here.
    const env = { ...baseEnv, PAYMENT_TIMEOUT_MS: '1000' };

    const crashed = await runChild(env, (spawned) => {
      child = spawned;
    });
    expect(crashed.signal).toBe('SIGKILL');
    expect(api.network.payments.map((payment) => payment.state)).toEqual(['pending']);

    const whilePending = await runChild(env);
    expect(whilePending.output?.error).toMatchObject({
      code: 'PAYMENT_OUTCOME_UNKNOWN',
      paid: 'unknown',
    });
    expect(api.network.payments).toHaveLength(1);

    api.network.settlePending();
    const settled = await runChild(env);
    expect(settled.output).toMatchObject({ status: 200, receipt: { paid: false } });
    expect(api.network.payments.map((payment) => payment.state)).toEqual(['succeeded']);
  }, 60_000);
});
