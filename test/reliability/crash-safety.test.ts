// Crash safety: a child process buying with a FileTokenStore is killed with SIGKILL at random
// points of a buy cycle (before the 402 reaches it, while the wallet pays, after the payment
// but before the answer, during the paid retry, while a payment hangs, at a random moment),
// then restarted on the same token file. Checked against the sandbox ledger: never two
// payments for one resource, and no token lost (every paid resource opens again for free).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileTokenStore, PaymentOutcomeUnknownError, type Wallet } from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../support/fleet.js';
import { type LoopbackServer, serveFetch } from '../support/serve-fetch.js';
import { serveWallet } from '../support/wallet-server.js';

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = resolve(here, '../..');
const childScript = join(here, 'support/crash-child.ts');

type Scenario =
  | 'on-402'
  | 'before-pay'
  | 'request-lost'
  | 'after-pay'
  | 'after-answer'
  | 'on-paid-retry'
  | 'random-moment'
  | 'hang-then-settle'
  | 'hang-then-fail';

const scenarios: Scenario[] = [
  'on-402',
  'before-pay',
  'request-lost',
  'after-pay',
  'after-answer',
  'on-paid-retry',
  'random-moment',
  'hang-then-settle',
  'hang-then-fail',
];

interface Line {
  path: string;
  status?: number;
  paid?: boolean | string;
  cached?: boolean;
  code?: string;
}

interface Child {
  process: ChildProcess;
  /** Resolves when the process has exited, with what it reported. */
  done: Promise<{ lines: Line[]; signal: NodeJS.Signals | null; stderr: string }>;
}

const seed = Number(process.env.L402KIT_CRASH_SEED ?? randomBytes(4).readUInt32BE());
const random = seededRandom(seed);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`SIGKILL at random points of a buy cycle (seed ${seed})`, () => {
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 1_000_000 });
  let directory: string;
  let api: LoopbackServer;
  let wallet: LoopbackServer;
  /** Around each payment the node makes for the child: `beforePay` returning false drops it. */
  const walletHooks: {
    beforePay?: () => Promise<boolean> | boolean;
    afterPay?: () => Promise<void> | void;
  } = {};
  // The payer's wallet as the HTTP wallet serves it; like a real node it finishes a payment
  // even when the process that asked for it is gone.
  const nodeWallet: Wallet = {
    name: payer.wallet.name,
    network: payer.wallet.network,
    async payInvoice(request) {
      if ((await walletHooks.beforePay?.()) === false) {
        throw new PaymentOutcomeUnknownError('the request never reached the node');
      }
      const result = await payer.wallet.payInvoice(request);
      await walletHooks.afterPay?.();
      return result;
    },
    lookupPayment: (paymentHash) => payer.wallet.lookupPayment!(paymentHash),
  };
  let current: Child | undefined;
  /** Kills scheduled for later; cleared when a scenario ends so they never hit a restart. */
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const killLater = (ms: number) => {
    timers.add(setTimeout(() => void kill(), ms));
  };
  /** Called with each request the paid API receives, before the paywall answers it. */
  let onApiRequest: ((request: Request) => Promise<void> | void) | undefined;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'l402kit-crash-'));
    wallet = await serveWallet(nodeWallet);
    // Each path has its own price (1 + its number, in sats), so a payment's amount names its path.
    const paywall = createPaywall({
      wallet: merchant.wallet,
      rootKey: randomBytes(32),
      serviceName: 'crash',
      price: (request) => 1 + Number(new URL(request.url).pathname.split('/')[2]),
      bindToPath: true,
    });
    const handle = paywall.handler(() => new Response('the paid content'));
    api = await serveFetch(async (request) => {
      await onApiRequest?.(request);
      return handle(request);
    });
  });

  afterAll(async () => {
    current?.process.kill('SIGKILL');
    network.failPending();
    await api?.close();
    await wallet?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  function startChild(paths: string[]): Child {
    const child = spawn(
      process.execPath,
      ['--conditions=@l402kit/source', '--import', 'tsx', childScript],
      {
        cwd: repositoryRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          CRASH_API_URL: api.url,
          CRASH_WALLET_URL: wallet.url,
          CRASH_PATHS: paths.join(','),
          CRASH_TOKEN_FILE: join(directory, 'tokens.json'),
          CRASH_SPEND_LOG: join(directory, 'spend.jsonl'),
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const done = new Promise<{ lines: Line[]; signal: NodeJS.Signals | null; stderr: string }>(
      (resolve) => {
        child.on('close', (_code, signal) => {
          const lines = stdout
            .split('\n')
            .filter((line) => line.trim() !== '')
            .map((line) => JSON.parse(line) as Line);
          resolve({ lines, signal, stderr });
        });
      },
    );
    current = { process: child, done };
    return current;
  }

  async function kill(): Promise<void> {
    const child = current;
    if (!child) return;
    child.process.kill('SIGKILL');
    await child.done;
  }

  /** Payments the payer made for a path, by state, from the sandbox ledger. */
  function ledgerFor(path: string) {
    const amountMsat = BigInt(1 + Number(path.split('/')[2])) * 1_000n;
    const payments = network.payments.filter(
      (payment) => payment.payer === payer.name && payment.amountMsat === amountMsat,
    );
    return {
      succeeded: payments.filter((payment) => payment.state === 'succeeded').length,
      pending: payments.filter((payment) => payment.state === 'pending').length,
    };
  }

  /** Arms the kill for one scenario; returns how to undo it. */
  function arm(scenario: Scenario, path: string, cycleMs: number): () => void {
    const isPath = (request: Request) => new URL(request.url).pathname === path;
    const paidRequest = (request: Request) => request.headers.has('authorization');
    switch (scenario) {
      case 'on-402':
        onApiRequest = async (request) => {
          if (isPath(request) && !paidRequest(request)) await kill();
        };
        break;
      case 'before-pay':
        walletHooks.beforePay = async () => {
          await kill();
          return true; // The node pays although its caller is gone.
        };
        break;
      case 'request-lost':
        // Dies after recording the pending payment, before the wallet takes the request.
        walletHooks.beforePay = async () => {
          await kill();
          return false;
        };
        break;
      case 'after-pay':
        walletHooks.afterPay = () => kill();
        break;
      case 'after-answer':
        walletHooks.afterPay = () => {
          killLater(random() * 20);
        };
        break;
      case 'on-paid-retry':
        onApiRequest = async (request) => {
          if (isPath(request) && paidRequest(request)) await kill();
        };
        break;
      case 'random-moment':
        onApiRequest = (request) => {
          if (isPath(request) && !paidRequest(request)) {
            killLater(random() * cycleMs);
          }
        };
        break;
      case 'hang-then-settle':
      case 'hang-then-fail': {
        const fault = payer.injectFault({ kind: scenario });
        walletHooks.beforePay = () => {
          // Killed while the payment hangs in flight.
          killLater(20);
          return true;
        };
        return () => {
          fault.remove();
          disarm();
        };
      }
    }
    return disarm;
  }

  function disarm(): void {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    onApiRequest = undefined;
    walletHooks.beforePay = undefined;
    walletHooks.afterPay = undefined;
  }

  it('never pays twice for a resource and never loses a token', async () => {
    const iterations = Number(process.env.L402KIT_CRASH_ITERATIONS ?? 12);
    const bought: string[] = [];
    const stuck: string[] = [];
    const history: string[] = [];

    // A clean cycle first: it must pay once, and it times the cycle for random-moment kills.
    let firstRequestAt = 0;
    onApiRequest = () => {
      firstRequestAt ||= performance.now();
    };
    const clean = await startChild(['/item/0']).done;
    const cycleMs = Math.max(performance.now() - firstRequestAt, 20);
    disarm();
    expect(clean.lines, clean.stderr).toEqual([
      { path: '/item/0', status: 200, paid: true, cached: false },
    ]);
    expect(ledgerFor('/item/0').succeeded).toBe(1);
    bought.push('/item/0');

    // Every scenario once, in random order, then random ones.
    const order = [...scenarios].sort(() => random() - 0.5);
    while (order.length < iterations)
      order.push(scenarios[Math.floor(random() * scenarios.length)]!);

    for (const [index, scenario] of order.entries()) {
      const path = `/item/${index + 1}`;
      const undo = arm(scenario, path, cycleMs);
      const killed = await startChild([path]).done;
      undo();
      const steps = [`${scenario}: ${killed.signal ?? JSON.stringify(killed.lines)}`];
      const where = () => `seed ${seed}, ${path}: ${steps.join(' -> ')}`;

      // Restart until it gets the resource, settling hung payments once a restart has seen them.
      let outcome: Line | undefined;
      for (let restart = 0; restart < 4; restart++) {
        const { lines, stderr } = await startChild([path]).done;
        outcome = lines[0];
        steps.push(JSON.stringify(outcome ?? stderr.slice(0, 300)));
        expect(outcome, where()).toBeDefined();
        expect(outcome!.code, where()).not.toBe('UNTYPED');
        expect(ledgerFor(path).succeeded, where()).toBeLessThanOrEqual(1);
        if (outcome!.status === 200) break;
        expect(outcome!.code, where()).toBe('PAYMENT_OUTCOME_UNKNOWN');
        if (scenario === 'hang-then-settle') network.settlePending();
        else if (scenario === 'hang-then-fail') network.failPending();
        else break;
      }
      history.push(where());

      const ledger = ledgerFor(path);
      expect(ledger.pending, where()).toBe(0);
      if (outcome!.status === 200) {
        expect(ledger.succeeded, where()).toBe(1);
        bought.push(path);
      } else {
        // The pending record outlived a payment that never left: nothing was paid, and the
        // fetch refuses to pay again until the wallet reports the outcome.
        expect(ledger.succeeded, where()).toBe(0);
        stuck.push(path);
      }
    }

    // No token lost, including those bought before later crashes rewrote the file.
    const before = network.payments.length;
    const final = await startChild(bought).done;
    expect(final.lines, final.stderr).toEqual(
      bought.map((path) => ({ path, status: 200, paid: false, cached: true })),
    );
    expect(network.payments.length).toBe(before);

    // The spend log holds no payment twice and none that the ledger lacks.
    const succeededHashes = new Set(
      network.payments
        .filter((payment) => payment.payer === payer.name && payment.state === 'succeeded')
        .map((payment) => payment.paymentHash),
    );
    const logged = (await readFile(join(directory, 'spend.jsonl'), 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { paymentHash: string; outcome: string })
      .filter((entry) => entry.outcome === 'paid' || entry.outcome === 'resolved-paid');
    expect(new Set(logged.map((entry) => entry.paymentHash)).size).toBe(logged.length);
    for (const entry of logged) expect(succeededHashes.has(entry.paymentHash)).toBe(true);

    // Only a payment that never reached the wallet may leave a resource waiting.
    for (const path of stuck) {
      expect(history.find((line) => line.includes(`${path}:`))).toMatch(
        /request-lost|random-moment/,
      );
    }
    await sleep(0);
  });
});

describe('a lock file left empty by a kill', () => {
  // Older builds created the lock empty (O_EXCL) and wrote the owner afterwards, so a SIGKILL in
  // between blocked the store for staleLockMs. Locks are now linked into place complete, so an
  // unreadable lock can only be left over, and is broken at once.
  it('is broken at once, like the lock of a dead process', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'l402kit-lock-'));
    try {
      const path = join(directory, 'tokens.json');
      await writeFile(`${path}.lock`, '');
      const store = new FileTokenStore(path, { lockTimeoutMs: 1_000 });
      await store.put({
        key: 'http://127.0.0.1:1 GET /a',
        origin: 'http://127.0.0.1:1',
        scope: '/a',
        method: 'GET',
        scheme: 'L402',
        macaroon: 'AgEEZnV6eg==',
        paymentHash: '00'.repeat(32),
        invoice: 'lnbcrt1',
        amountMsat: 1_000n,
        feeMsat: 0n,
        state: 'pending',
        createdAt: Date.now(),
      });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
