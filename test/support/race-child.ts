// Run as a child process by test/paid-fetch.processes.test.ts:
//   node --conditions=@l402kit/source --import tsx test/support/race-child.ts
// Env: WALLET_URL, TOKEN_FILE. Prints {"ready":true} once set up, then fetches every URL read
// from stdin (a line each) and prints one JSON line per URL: {status, body, receipt} or {error}.
import { createInterface } from 'node:readline';
import { createPaidFetch, FileTokenStore, L402Error } from '@l402kit/core';
import { httpWallet } from './wallet-server.js';

const paidFetch = createPaidFetch({
  wallet: httpWallet(process.env.WALLET_URL!),
  tokenStore: new FileTokenStore(process.env.TOKEN_FILE!),
  policy: { allowPrivateNetwork: true, requireHttps: false },
});
const amounts = (_key: string, value: unknown) =>
  typeof value === 'bigint' ? value.toString() : value;

console.log(JSON.stringify({ ready: true }));
for await (const url of createInterface({ input: process.stdin })) {
  try {
    const response = await paidFetch(url);
    const body = await response.text();
    console.log(JSON.stringify({ status: response.status, body, receipt: response.l402 }, amounts));
  } catch (error) {
    console.log(
      JSON.stringify({ error: error instanceof L402Error ? error.toJSON() : String(error) }),
    );
  }
}
