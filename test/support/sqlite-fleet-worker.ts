// Run as a child process by test/sqlite-fleet.test.ts and test/reliability/sqlite-fleet-crash.test.ts
// (through startWorker in fleet.ts). One worker of a fleet on one machine: its budgets and
// tokens in the shared l402kit SQLite database, as the CLI and the MCP server keep them.
// Env: WALLET_URL (see serveWallet), DATABASE_PATH, DAILY_MSAT (the shared daily level),
// PAYMENT_TIMEOUT_MS, and CRASH_AFTER_PAYS=n to die (SIGKILL) as soon as the wallet reports
// this worker's n-th payment, before anything is recorded.
// At start it settles what dead workers left open, as the CLI and the MCP server do. Prints
// {"ready":true}, then fetches every URL read from stdin at once (without waiting for the
// previous one) and prints one JSON line per URL (see FleetOutcome in fleet.ts).
import { createInterface } from 'node:readline';
import {
  createBudget,
  createPaidFetch,
  L402Error,
  openSqliteDatabase,
  openSqliteLedger,
  SqliteTokenStore,
  settleOpenReservations,
} from '@l402kit/core';
import type { FleetOutcome } from './fleet.js';
import { httpWallet } from './wallet-server.js';

const { WALLET_URL, DATABASE_PATH, DAILY_MSAT, PAYMENT_TIMEOUT_MS, CRASH_AFTER_PAYS } = process.env;
const paymentTimeoutMs = Number(PAYMENT_TIMEOUT_MS ?? 30_000);
let payments = 0;
const wallet = httpWallet(WALLET_URL!, {
  afterPay: () => {
    if (++payments === Number(CRASH_AFTER_PAYS)) process.kill(process.pid, 'SIGKILL');
  },
});
const database = openSqliteDatabase(DATABASE_PATH!);
const ledger = openSqliteLedger(database);
const paidFetch = createPaidFetch({
  wallet,
  tokenStore: new SqliteTokenStore(database),
  budget: createBudget({ name: 'daily', maxMsat: BigInt(DAILY_MSAT!), window: '24h', ledger }),
  // The sandbox charges exactly 1 sat per payment: reserved is then what is spent.
  feeLimit: { baseMsat: 1_000n, ppm: 0 },
  policy: { allowPrivateNetwork: true, requireHttps: false },
  paymentTimeoutMs,
});
await settleOpenReservations(ledger, wallet, { staleAfterMs: paymentTimeoutMs + 5_000 });

async function fetchOne(url: string): Promise<FleetOutcome> {
  try {
    const response = await paidFetch(url);
    await response.text();
    return {
      url,
      status: response.status,
      paid: response.l402?.paid ?? false,
      ...(response.l402?.paymentHash ? { paymentHash: response.l402.paymentHash } : {}),
    };
  } catch (error) {
    return {
      url,
      error:
        error instanceof L402Error
          ? { code: error.code, paid: error.paid, message: error.message }
          : { code: 'UNTYPED', paid: 'unknown', message: String(error) },
    };
  }
}

console.log(JSON.stringify({ ready: true }));
for await (const url of createInterface({ input: process.stdin })) {
  void fetchOne(url).then((outcome) => console.log(JSON.stringify(outcome)));
}
