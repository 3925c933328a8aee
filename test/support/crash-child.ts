// Run as a child process by test/paid-fetch.crash.test.ts:
//   node --conditions=@l402kit/source --import tsx test/support/crash-child.ts
// Env: WALLET_URL, TOKEN_FILE, RESOURCE_URL, and CRASH_AFTER_PAY=1 to die (SIGKILL) right
// after the wallet reported the payment, before the paid token can be stored;
// PAYMENT_TIMEOUT_MS to shorten the payment timeout (default 60 s).
// Prints one JSON line: {status, body, receipt} or {error}.
import { createPaidFetch, FileTokenStore, L402Error } from '@l402kit/core';
import { httpWallet } from './wallet-server.js';

const { WALLET_URL, TOKEN_FILE, RESOURCE_URL, CRASH_AFTER_PAY, PAYMENT_TIMEOUT_MS } = process.env;
const wallet = httpWallet(WALLET_URL!, {
  afterPay: () => {
    if (CRASH_AFTER_PAY === '1') process.kill(process.pid, 'SIGKILL');
  },
});
const paidFetch = createPaidFetch({
  wallet,
  tokenStore: new FileTokenStore(TOKEN_FILE!),
  policy: { allowPrivateNetwork: true, requireHttps: false },
  ...(PAYMENT_TIMEOUT_MS ? { paymentTimeoutMs: Number(PAYMENT_TIMEOUT_MS) } : {}),
});
const amounts = (_key: string, value: unknown) =>
  typeof value === 'bigint' ? value.toString() : value;
try {
  const response = await paidFetch(RESOURCE_URL!);
  const body = await response.text();
  console.log(JSON.stringify({ status: response.status, body, receipt: response.l402 }, amounts));
} catch (error) {
  console.log(
    JSON.stringify({ error: error instanceof L402Error ? error.toJSON() : String(error) }),
  );
  process.exitCode = 2;
}
