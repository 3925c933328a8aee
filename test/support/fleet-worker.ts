// Run as a child process by test/postgres-fleet.test.ts (through startWorker in postgres-fleet.ts):
// one worker of a fleet with its own pool on the shared PostgreSQL, its budgets and tokens
// there. Env: DATABASE_URL, SCHEMA, DAILY_MSAT (the shared daily level), and those of
// fleet-answers.ts (WALLET_URL, PAYMENT_TIMEOUT_MS, CRASH_AFTER_PAY).
import { createBudget } from '@l402kit/core';
import { createPool, createPostgresLedger, PostgresTokenStore } from '@l402kit/postgres';
import { answerCalls, fleetPaidFetch, fleetWallet } from './fleet-answers.js';

const { DATABASE_URL, SCHEMA, DAILY_MSAT } = process.env;
const pool = createPool(DATABASE_URL!, { max: 4, application_name: 'l402kit-fleet' });
const ledger = createPostgresLedger(pool, { schema: SCHEMA! });
await answerCalls(
  fleetPaidFetch({
    wallet: fleetWallet(),
    tokenStore: new PostgresTokenStore(pool, { schema: SCHEMA! }),
    budget: createBudget({ name: 'daily', maxMsat: BigInt(DAILY_MSAT!), window: '24h', ledger }),
  }),
);
