import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '@l402kit/core';
import { FEE_MSAT, type FleetBooks, PRICE_MSAT, startWorker } from './fleet.js';
import { type PaidApi, startPaidApi } from './paid-api.js';
import type { LoopbackServer } from './serve-fetch.js';
import { serveWallet } from './wallet-server.js';

export { bookViolations, FEE_MSAT, PRICE_MSAT } from './fleet.js';
export const PAYER_BALANCE_SATS = 1_000_000;

const workerScript = new URL('./sqlite-fleet-worker.ts', import.meta.url);

export interface SqliteFleet {
  api: PaidApi;
  databasePath: string;
  dailyMsat: bigint;
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A paywall on a sandbox network that charges a 1 sat routing fee, a wallet server the
 * workers pay through, and a fresh l402kit database file whose daily level fits exactly k
 * purchases. `walletHooks` see each payment the workers ask for.
 */
export async function startSqliteFleet(
  k: number,
  walletHooks: Parameters<typeof serveWallet>[1] = {},
): Promise<SqliteFleet> {
  const api = await startPaidApi({
    network: { feeBaseMsat: FEE_MSAT },
    payerBalanceSats: PAYER_BALANCE_SATS,
    paywall: { price: Number(PRICE_MSAT / 1_000n) },
  });
  const walletServer: LoopbackServer = await serveWallet(api.payer.wallet, walletHooks);
  const directory = await mkdtemp(join(tmpdir(), 'l402kit-fleet-'));
  const databasePath = join(directory, 'l402kit.db');
  const dailyMsat = BigInt(k) * (PRICE_MSAT + FEE_MSAT);
  return {
    api,
    databasePath,
    dailyMsat,
    env: {
      WALLET_URL: walletServer.url,
      DATABASE_PATH: databasePath,
      DAILY_MSAT: String(dailyMsat),
    },
    async close() {
      await walletServer.close();
      await api.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A worker of the fleet in another process (sqlite-fleet-worker.ts). */
export function startSqliteWorker(fleet: SqliteFleet, env: Record<string, string> = {}) {
  return startWorker(workerScript, { ...fleet.env, ...env });
}

/** The books the fleet left in its database, next to the sandbox's payments. */
export function sqliteFleetBooks(fleet: SqliteFleet): FleetBooks {
  const database = openSqliteDatabase(fleet.databasePath);
  try {
    const rows = <T>(sql: string) => database.read(() => database.statement(sql).all() as T[]);
    const [level] = rows<{ spent_msat: bigint; reserved_msat: bigint; pending_msat: bigint }>(
      "SELECT spent_msat, reserved_msat, pending_msat FROM ledger_levels WHERE name = 'daily'",
    );
    const reservations = rows<{ payment_hash: string; state: string; spent_msat: bigint }>(
      'SELECT payment_hash, state, spent_msat FROM ledger_reservations',
    );
    const tokens = rows<{ key: string; payment_hash: string; state: string }>(
      'SELECT key, payment_hash, state FROM tokens',
    );
    const payments = fleet.api.network.payments.filter((payment) => payment.state === 'succeeded');
    return {
      spentMsat: level!.spent_msat,
      reservedMsat: level!.reserved_msat,
      pendingMsat: level!.pending_msat,
      reservations,
      tokens,
      payments,
      paidMsat: payments.reduce((sum, payment) => sum + payment.amountMsat + payment.feeMsat, 0n),
    };
  } finally {
    database.close();
  }
}
