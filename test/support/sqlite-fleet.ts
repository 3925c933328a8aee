import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '@l402kit/core';
import { FEE_MSAT, PRICE_MSAT, startWorker } from './fleet.js';
import { type PaidApi, startPaidApi } from './paid-api.js';
import type { LoopbackServer } from './serve-fetch.js';
import { serveWallet } from './wallet-server.js';

export { FEE_MSAT, PRICE_MSAT } from './fleet.js';
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
export function sqliteFleetBooks(fleet: SqliteFleet) {
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

export type SqliteFleetBooks = ReturnType<typeof sqliteFleetBooks>;

/**
 * What must hold after any run, kills or not: every payment the sandbox made is charged
 * exactly once, with its amount and fee, and bought a resource no other payment bought (its
 * token holds that payment's hash); nothing is charged that the sandbox did not pay; the level
 * never holds more than its limit. Returns a list of violations (empty when the books are right).
 */
export function bookViolations(fleet: SqliteFleet, books: SqliteFleetBooks): string[] {
  const violations: string[] = [];
  const succeeded = new Set(books.payments.map((payment) => payment.paymentHash));
  for (const payment of books.payments) {
    const charged = books.reservations
      .filter((each) => each.payment_hash === payment.paymentHash && each.state === 'committed')
      .map((each) => each.spent_msat);
    if (charged.length !== 1 || charged[0] !== payment.amountMsat + payment.feeMsat) {
      violations.push(`payment ${payment.paymentHash} charged ${charged.join(', ') || 'never'}`);
    }
    const token = books.tokens.find((each) => each.payment_hash === payment.paymentHash);
    if (token?.state !== 'paid')
      violations.push(`payment ${payment.paymentHash} has no paid token`);
  }
  for (const reservation of books.reservations) {
    if (reservation.state === 'committed' && !succeeded.has(reservation.payment_hash)) {
      violations.push(`reservation for ${reservation.payment_hash} committed but never paid`);
    }
  }
  const resources = books.payments.map(
    (payment) => books.tokens.find((token) => token.payment_hash === payment.paymentHash)?.key,
  );
  if (new Set(resources).size !== resources.length) {
    violations.push(`a resource was bought twice: ${resources.join(', ')}`);
  }
  if (books.spentMsat !== books.paidMsat) {
    violations.push(`ledger spent ${books.spentMsat} msat, sandbox paid ${books.paidMsat} msat`);
  }
  if (books.spentMsat + books.reservedMsat + books.pendingMsat > fleet.dailyMsat) {
    violations.push(
      `the daily level holds ${books.spentMsat} + ${books.reservedMsat} + ${books.pendingMsat} msat, above ${fleet.dailyMsat}`,
    );
  }
  return violations;
}
