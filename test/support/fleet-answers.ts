// The worker side of a fleet (see fleet.ts): the paid fetch every fleet worker makes, and the
// loop that answers the calls the test writes to its stdin.
// Env: WALLET_URL (see serveWallet), PAYMENT_TIMEOUT_MS, and CRASH_AFTER_PAY=n to die
// (SIGKILL) as soon as the wallet reports this worker's n-th payment, before anything is recorded.
import { createInterface } from 'node:readline';
import {
  type Budget,
  createPaidFetch,
  L402Error,
  type PaidFetch,
  type TokenStore,
  type Wallet,
} from '@l402kit/core';
import type { FleetOutcome } from './fleet.js';
import { httpWallet } from './wallet-server.js';

/** The wallet server's wallet, dying after the CRASH_AFTER_PAY-th payment when that is set. */
export function fleetWallet(): Wallet {
  let payments = 0;
  return httpWallet(process.env.WALLET_URL!, {
    afterPay: () => {
      if (++payments === Number(process.env.CRASH_AFTER_PAY)) process.kill(process.pid, 'SIGKILL');
    },
  });
}

/** Long by default, so that a worker waiting for another's payment on a busy machine does not give up. */
export const fleetPaymentTimeoutMs = Number(process.env.PAYMENT_TIMEOUT_MS ?? 30_000);

export function fleetPaidFetch(options: {
  wallet: Wallet;
  tokenStore: TokenStore;
  budget: Budget;
}): PaidFetch {
  return createPaidFetch({
    ...options,
    // The sandbox charges exactly 1 sat per payment: reserved is then what is spent.
    feeLimit: { baseMsat: 1_000n, ppm: 0 },
    policy: { allowPrivateNetwork: true, requireHttps: false },
    paymentTimeoutMs: fleetPaymentTimeoutMs,
  });
}

/**
 * Prints {"ready":true}, then fetches every URL read from stdin at once (without waiting for
 * the previous one) and prints one JSON line per URL (FleetOutcome).
 */
export async function answerCalls(paidFetch: PaidFetch): Promise<void> {
  console.log(JSON.stringify({ ready: true }));
  for await (const url of createInterface({ input: process.stdin })) {
    void fetchOne(paidFetch, url).then((outcome) => console.log(JSON.stringify(outcome)));
  }
}

async function fetchOne(paidFetch: PaidFetch, url: string): Promise<FleetOutcome> {
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
