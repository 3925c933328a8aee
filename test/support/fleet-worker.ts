// Run as a child process by test/postgres-fleet.test.ts (through startWorker in postgres-fleet.ts):
// one worker of a fleet with its own pool on the shared PostgreSQL, its budgets and tokens
// there; at start it settles what dead workers left open, as the CLI and MCP server do. Env: DATABASE_URL, SCHEMA, DAILY_MSAT (the shared daily level), and those of
// fleet-answers.ts (WALLET_URL, PAYMENT_TIMEOUT_MS, CRASH_AFTER_PAY).
import { createBudget, settleOpenReservations } from '@l402kit/core';
import { createPool, createPostgresLedger, PostgresTokenStore } from '@l402kit/postgres';
import {
  answerCalls,
  fleetPaidFetch,
  fleetPaymentTimeoutMs,
  fleetWallet,
} from './fleet-answers.js';

const { DATABASE_URL, SCHEMA, DAILY_MSAT } = process.env;
const pool = createPool(DATABASE_URL!, { max: 4, application_name: 'l402kit-fleet' });
const ledger = createPostgresLedger(pool, { schema: SCHEMA! });
const wallet = fleetWallet();
await settleOpenReservations(ledger, wallet, { staleAfterMs: fleetPaymentTimeoutMs + 5_000 });
await answerCalls(
  fleetPaidFetch({
    wallet,
    tokenStore: new PostgresTokenStore(pool, { schema: SCHEMA! }),
    budget: createBudget({ name: 'daily', maxMsat: BigInt(DAILY_MSAT!), window: '24h', ledger }),
  }),
);
