import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { migrate } from '@l402kit/postgres';
import type pg from 'pg';
import { startTestDatabase, type TestDatabase } from '../../packages/postgres/src/test-support.js';
import { type PaidApi, startPaidApi } from './paid-api.js';
import type { LoopbackServer } from './serve-fetch.js';
import { serveWallet } from './wallet-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const workerScript = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

/** Price of every resource and the sandbox's routing fee: a purchase costs exactly this. */
export const PRICE_MSAT = 10_000n;
export const FEE_MSAT = 1_000n;

/** What a fleet worker prints per URL (see fleet-worker.ts). */
export interface FleetOutcome {
  url: string;
  status?: number;
  paid?: boolean;
  paymentHash?: string;
  error?: { code: string; paid: boolean | 'unknown'; message: string };
}

export interface Fleet {
  api: PaidApi;
  database: TestDatabase;
  schema: string;
  pool: pg.Pool;
  dailyMsat: bigint;
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A paywall on a sandbox network that charges 1 sat routing fee, a wallet server the workers
 * pay through, and a migrated schema on a real PostgreSQL whose daily level fits exactly k
 * purchases.
 */
export async function startFleet(k: number, database?: TestDatabase): Promise<Fleet> {
  const api = await startPaidApi({
    network: { feeBaseMsat: FEE_MSAT },
    payerBalanceSats: 1_000_000,
    paywall: { price: Number(PRICE_MSAT / 1_000n) },
  });
  const walletServer: LoopbackServer = await serveWallet(api.payer.wallet);
  const own = database === undefined;
  const db = database ?? (await startTestDatabase());
  const schema = db.freshSchema();
  const pool = db.pool({ max: 4 });
  await migrate(pool, { schema });
  const dailyMsat = BigInt(k) * (PRICE_MSAT + FEE_MSAT);
  return {
    api,
    database: db,
    schema,
    pool,
    dailyMsat,
    env: {
      WALLET_URL: walletServer.url,
      DATABASE_URL: db.url,
      SCHEMA: schema,
      DAILY_MSAT: String(dailyMsat),
    },
    async close() {
      await walletServer.close();
      await api.close();
      if (own) await db.close();
    },
  };
}

/** A fleet worker in another process (fleet-worker.ts). */
export function startWorker(env: Record<string, string>) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--conditions=@l402kit/source', '--import', 'tsx', workerScript],
    { cwd: root, env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const outcomes: FleetOutcome[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const parsed = JSON.parse(line) as FleetOutcome & { ready?: boolean };
    if (parsed.ready) ready();
    else outcomes.push(parsed);
  });
  return {
    child,
    outcomes,
    exited,
    ready: () =>
      Promise.race([
        isReady,
        exited.then(() => {
          throw new Error(`worker exited: ${stderr.slice(-2000)}`);
        }),
      ]),
    fetch(urls: string[]) {
      child.stdin.write(urls.map((url) => `${url}\n`).join(''));
    },
    stderr: () => stderr,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}

export type Worker = ReturnType<typeof startWorker>;

/** `count` calls over `resources` resources, shuffled by a small seeded generator. */
export function calls(baseUrl: string, count: number, resources: number, seed = 1): string[] {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const urls = Array.from({ length: count }, (_, index) => `${baseUrl}/r/${index % resources}`);
  for (let index = urls.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [urls[index], urls[other]] = [urls[other]!, urls[index]!];
  }
  return urls;
}

/** Resolves once `condition` holds, checking every few milliseconds. */
export async function eventually(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** The books the fleet left: ledger level, reservations and tokens, next to the sandbox's. */
export async function fleetBooks(fleet: Fleet) {
  const query = <T extends pg.QueryResultRow>(text: string) =>
    fleet.pool.query<T>(text.replaceAll('$schema', `"${fleet.schema}"`));
  const [level] = (
    await query<{ spent_msat: string; reserved_msat: string; pending_msat: string }>(
      `SELECT spent_msat, reserved_msat, pending_msat FROM $schema.ledger_levels WHERE name = 'daily'`,
    )
  ).rows;
  const reservations = (
    await query<{ payment_hash: string; state: string; spent_msat: string }>(
      `SELECT payment_hash, state, spent_msat FROM $schema.ledger_reservations`,
    )
  ).rows;
  const tokens = (
    await query<{ key: string; payment_hash: string; state: string }>(
      `SELECT key, payment_hash, state FROM $schema.tokens`,
    )
  ).rows;
  const payments = fleet.api.network.payments.filter((payment) => payment.state === 'succeeded');
  return {
    spentMsat: BigInt(level!.spent_msat),
    reservedMsat: BigInt(level!.reserved_msat),
    pendingMsat: BigInt(level!.pending_msat),
    reservations,
    tokens,
    payments,
    paidMsat: payments.reduce((sum, payment) => sum + payment.amountMsat + payment.feeMsat, 0n),
  };
}
