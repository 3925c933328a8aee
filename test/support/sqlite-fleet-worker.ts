// Run as a child process by test/sqlite-fleet.test.ts and test/reliability/fleet-crash.test.ts
// (through startSqliteWorker in sqlite-fleet.ts). One worker of a fleet on one machine: its
// budgets and tokens in the shared l402kit SQLite database, as the CLI and the MCP server keep
// them; at start it settles what dead workers left open, as they do. Env: DATABASE_PATH,
// DAILY_MSAT (the shared daily level), and those of fleet-answers.ts (WALLET_URL,
// PAYMENT_TIMEOUT_MS, CRASH_AFTER_PAY).
import {
  createBudget,
  openSqliteDatabase,
  openSqliteLedger,
  SqliteTokenStore,
  settleOpenReservations,
} from '@l402kit/core';
import {
  answerCalls,
  fleetPaidFetch,
  fleetPaymentTimeoutMs,
  fleetWallet,
} from './fleet-answers.js';

const { DATABASE_PATH, DAILY_MSAT } = process.env;
const wallet = fleetWallet();
const database = openSqliteDatabase(DATABASE_PATH!);
const ledger = openSqliteLedger(database);
await settleOpenReservations(ledger, wallet, { staleAfterMs: fleetPaymentTimeoutMs + 5_000 });
await answerCalls(
  fleetPaidFetch({
    wallet,
    tokenStore: new SqliteTokenStore(database),
    budget: createBudget({ name: 'daily', maxMsat: BigInt(DAILY_MSAT!), window: '24h', ledger }),
  }),
);
