// Run as a child process by test/postgres-fleet.test.ts and test/reliability/postgres-fleet-crash.test.ts:
//   node --conditions=@l402kit/source --import tsx test/support/fleet-worker.ts
// One worker of a fleet: its own pool on the shared PostgreSQL, its budgets and tokens there.
// Env: WALLET_URL (see serveWallet), DATABASE_URL, SCHEMA, DAILY_MSAT (the shared daily level),
// PAYMENT_TIMEOUT_MS, and CRASH_AFTER_PAY=1 to die (SIGKILL) as soon as the wallet reports a
// payment, before anything is recorded. Prints {"ready":true}, then fetches every URL read from stdin at once
// (without waiting for the previous one) and prints one JSON line per URL:
// {url, status, paid, paymentHash} or {url, error: {code, paid}}.
import { createInterface } from 'node:readline';
import { createBudget, createPaidFetch, L402Error } from '@l402kit/core';
import { createPool, createPostgresLedger, PostgresTokenStore } from '@l402kit/postgres';
import { httpWallet } from './wallet-server.js';

const { WALLET_URL, DATABASE_URL, SCHEMA, DAILY_MSAT, PAYMENT_TIMEOUT_MS, CRASH_AFTER_PAY } =
  process.env;
const pool = createPool(DATABASE_URL!, { max: 4, application_name: 'l402kit-fleet' });
const ledger = createPostgresLedger(pool, { schema: SCHEMA! });
const daily = createBudget({ name: 'daily', maxMsat: BigInt(DAILY_MSAT!), window: '24h', ledger });
const paidFetch = createPaidFetch({
  wallet: httpWallet(WALLET_URL!, {
    afterPay: () => {
      if (CRASH_AFTER_PAY === '1') process.kill(process.pid, 'SIGKILL');
    },
  }),
  tokenStore: new PostgresTokenStore(pool, { schema: SCHEMA! }),
  budget: daily,
  // The sandbox charges exactly 1 sat per payment: reserved is then what is spent.
  feeLimit: { baseMsat: 1_000n, ppm: 0 },
  policy: { allowPrivateNetwork: true, requireHttps: false },
  // Long, so that a worker waiting for another's payment on a busy machine does not give up.
  paymentTimeoutMs: Number(PAYMENT_TIMEOUT_MS ?? 30_000),
});

async function fetchOne(url: string) {
  try {
    const response = await paidFetch(url);
    await response.text();
    return {
      url,
      status: response.status,
      paid: response.l402?.paid ?? false,
      paymentHash: response.l402?.paymentHash,
    };
  } catch (error) {
    return {
      url,
      error:
        error instanceof L402Error
          ? { code: error.code, paid: error.paid, message: error.message }
          : { code: 'UNEXPECTED', paid: 'unknown', message: String(error) },
    };
  }
}

console.log(JSON.stringify({ ready: true }));
for await (const url of createInterface({ input: process.stdin })) {
  void fetchOne(url).then((outcome) => console.log(JSON.stringify(outcome)));
}
