// Shared by the packed-install snippets: a `sandbox:` wallet (installed from the tarballs) and a
// real loopback HTTP server selling /report behind an L402 paywall on that wallet's network.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBudget, createPaidFetch } from '@l402kit/core';
import { createPaywall } from '@l402kit/server';
import { type SandboxUrlWallet, walletFromUrl } from '@l402kit/wallets';

export async function startSandboxShop() {
  const wallet = walletFromUrl('sandbox:?balance=1000') as SandboxUrlWallet;
  const paywall = createPaywall({
    wallet: wallet.sandbox.merchant.wallet,
    rootKey: randomBytes(32),
    serviceName: 'report',
    price: 10,
    description: 'The report',
  });
  const middleware = paywall.nodeMiddleware();
  const server = createServer((request, response) =>
    middleware(request, response, (error) => {
      if (error) return response.writeHead(500).end();
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ report: 'the paid report' }));
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/report`;
  const budget = createBudget({ name: 'daily', maxSats: 500, maxSatsPerRequest: 50 });
  // The shop is on loopback: allow it explicitly (agents are refused private addresses).
  const paidFetch = createPaidFetch({
    wallet,
    budget,
    policy: { allowPrivateNetwork: true, requireHttps: false },
  });
  return {
    url,
    budget,
    paidFetch,
    /** Fails the snippet unless the report was bought with exactly one 10-sat payment. */
    async check(name: string, output: string) {
      const spentSats = Number((await budget.status()).spentMsat) / 1000;
      if (!output.includes('the paid report') || spentSats < 10 || spentSats > 11) {
        throw new Error(
          `${name}: expected the paid report for 10 sats, got ${spentSats} sats and ${output}`,
        );
      }
      console.log(`${name}: the agent bought the report; ${spentSats} sats spent`);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
