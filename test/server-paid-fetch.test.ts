import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBudget, createPaidFetch } from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { createPaywall, type PaidIncomingMessage } from '@l402kit/server';
import { afterEach, describe, expect, it } from 'vitest';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A plain `node:http` shop behind the Node middleware, tokens bound to path and method. */
async function startExpressShop() {
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 1_000 });
  const paywall = createPaywall({
    wallet: merchant.wallet,
    rootKey: new Uint8Array(randomBytes(32)),
    serviceName: 'shop',
    price: 7,
    bindToPath: true,
    bindToMethod: true,
    validForSeconds: 600,
  });
  const middleware = paywall.nodeMiddleware();
  const server = createServer((request, response) =>
    middleware(request, response, async (error) => {
      if (error !== undefined) return void response.writeHead(500).end();
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      response.setHeader('Content-Type', 'application/json');
      response.end(
        JSON.stringify({
          item: request.url?.split('/').pop(),
          body: Buffer.concat(chunks).toString('utf8'),
          paidWith: (request as PaidIncomingMessage).l402?.paymentHash,
        }),
      );
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, merchant, payer };
}

describe("core's paid fetch buying from the server's Node middleware", () => {
  it('pays once per path, replays the POST body, and reuses the token on the same path', async () => {
    const shop = await startExpressShop();
    const budget = createBudget({ maxSats: 100 });
    const paidFetch = createPaidFetch({
      wallet: shop.payer.wallet,
      budget,
      policy: loopbackPolicy,
    });
    const post = (path: string, body: string) =>
      paidFetch(shop.url + path, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body,
      });

    const first = await post('/api/apple', 'one apple');
    expect(first.status).toBe(200);
    const firstBody = await first.json();
    expect(firstBody).toMatchObject({ item: 'apple', body: 'one apple' });
    expect(first.l402).toMatchObject({ paid: true, amountMsat: 7_000n });
    expect(firstBody.paidWith).toBe(first.l402.paymentHash);

    const again = await post('/api/apple', 'another apple');
    expect(again.status).toBe(200);
    expect(again.l402).toMatchObject({ paid: false, usedCachedToken: true });

    // The token is bound to /api/apple: another path costs a new payment, never a loop.
    const pear = await post('/api/pear', 'a pear');
    expect(pear.status).toBe(200);
    expect(await pear.json()).toMatchObject({ item: 'pear', body: 'a pear' });
    expect(pear.l402).toMatchObject({ paid: true });

    expect(shop.merchant.balanceMsat).toBe(14_000n);
    expect((await budget.status()).spentMsat).toBe(14_000n);
  });
});
