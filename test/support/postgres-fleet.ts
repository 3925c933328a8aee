import { migrate } from '@l402kit/postgres';
import type pg from 'pg';
import { startTestDatabase, type TestDatabase } from '../../packages/postgres/src/test-support.js';
import {
  type FleetBooks,
  calls as shuffledCalls,
  FEE_MSAT,
  PRICE_MSAT,
  seededRandom,
  startWorker as startSharedWorker,
} from './fleet.js';
import { type PaidApi, startPaidApi } from './paid-api.js';
import type { LoopbackServer } from './serve-fetch.js';
import { serveWallet } from './wallet-server.js';

const workerScript = new URL('./fleet-worker.ts', import.meta.url);

export { bookViolations, FEE_MSAT, PRICE_MSAT } from './fleet.js';

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
 * purchases. `walletHooks` see each payment the workers ask for.
 */
export async function startFleet(
  k: number,
  database?: TestDatabase,
  walletHooks: Parameters<typeof serveWallet>[1] = {},
): Promise<Fleet> {
  const api = await startPaidApi({
    network: { feeBaseMsat: FEE_MSAT },
    payerBalanceSats: 1_000_000,
    paywall: { price: Number(PRICE_MSAT / 1_000n) },
  });
  const walletServer: LoopbackServer = await serveWallet(api.payer.wallet, walletHooks);
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
  return startSharedWorker(workerScript, env);
}

/** `count` calls over `resources` resources, shuffled by a seeded generator. */
export function calls(baseUrl: string, count: number, resources: number, seed = 1): string[] {
  return shuffledCalls(baseUrl, count, resources, seededRandom(seed));
}

export { eventually, type FleetOutcome, type Worker } from './fleet.js';

/** The books the fleet left: ledger level, reservations and tokens, next to the sandbox's. */
export async function fleetBooks(fleet: Fleet): Promise<FleetBooks> {
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
    reservations: reservations.map((each) => ({ ...each, spent_msat: BigInt(each.spent_msat) })),
    tokens,
    payments,
    paidMsat: payments.reduce((sum, payment) => sum + payment.amountMsat + payment.feeMsat, 0n),
  };
}
