// A process that buys with a paid fetch and a FileTokenStore, to be killed with SIGKILL by
// crash-safety.test.ts; it pays through test/support/wallet-server.ts. Unlike
// test/support/crash-child.ts it fetches several paths (CRASH_PATHS) and keeps a spend log.
// Reports one JSON line per path on stdout:
// { path, status, paid, cached } or { path, code, paid } for a typed error.
import {
  createBudget,
  createPaidFetch,
  createSpendLog,
  FileTokenStore,
  L402Error,
} from '@l402kit/core';
import { httpWallet } from '../../support/wallet-server.js';

const apiUrl = process.env.CRASH_API_URL!;
const paths = process.env.CRASH_PATHS!.split(',');

const paidFetch = createPaidFetch({
  wallet: httpWallet(process.env.CRASH_WALLET_URL!),
  budget: createBudget({ name: 'crash', maxSatsPerRequest: 100 }),
  policy: { allowPrivateNetwork: true, requireHttps: false },
  // Default lock settings: a restart must get past whatever lock a killed process left.
  tokenStore: new FileTokenStore(process.env.CRASH_TOKEN_FILE!),
  spendLog: createSpendLog(process.env.CRASH_SPEND_LOG!),
  paymentTimeoutMs: Number(process.env.CRASH_PAYMENT_TIMEOUT_MS ?? 5_000),
});

const report = (line: Record<string, unknown>) =>
  process.stdout.write(
    `${JSON.stringify(line, (_, value) => (typeof value === 'bigint' ? value.toString() : value))}\n`,
  );

for (const path of paths) {
  try {
    const response = await paidFetch(`${apiUrl}${path}`);
    await response.arrayBuffer();
    report({
      path,
      status: response.status,
      paid: response.l402.paid,
      cached: response.l402.usedCachedToken,
    });
  } catch (error) {
    if (!(error instanceof L402Error)) {
      report({ path, code: 'UNTYPED', message: String(error) });
    } else {
      // A token store error says why (no secret in it); the others are told by their code.
      const why = error.code === 'TOKEN_STORE' ? { message: error.message } : {};
      report({ path, code: error.code, paid: error.paid, ...why });
    }
  }
}
