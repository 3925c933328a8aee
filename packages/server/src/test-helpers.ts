import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeInvoice, formatCredential, parseL402Challenge } from '@l402kit/core';
import { createSandboxNetwork, type SandboxNode } from '@l402kit/sandbox';
import { type PaywallOptions, createPaywall } from './index.js';

/** A seller node behind a paywall for the "research" service and a funded buyer node. */
export function createFixture(options: Partial<PaywallOptions> = {}) {
  const network = createSandboxNetwork();
  const seller = network.createNode({ name: 'seller' });
  const buyer = network.createNode({ name: 'buyer', balanceSats: 1_000_000 });
  const rootKey = new Uint8Array(randomBytes(32));
  const paywall = createPaywall({
    wallet: seller.wallet,
    rootKey,
    serviceName: 'research',
    price: 10,
    ...options,
  });
  return { network, seller, buyer, rootKey, paywall };
}

/** Reads the 402's challenge with core's parser, pays it from `buyer`, returns the credential. */
export async function payChallenge(buyer: SandboxNode, response: Response) {
  const challenge = parseL402Challenge(response.headers.get('www-authenticate'));
  const invoice = decodeInvoice(challenge.invoice);
  const { preimage } = await buyer.wallet.payInvoice({
    invoice: challenge.invoice,
    amountMsat: invoice.amountMsat!,
    paymentHash: invoice.paymentHash,
    maxFeeMsat: 0n,
    timeoutMs: 10_000,
  });
  const authorization = formatCredential({ macaroon: challenge.macaroon, preimage });
  return { challenge, invoice, preimage, authorization };
}

/** A real HTTP server on 127.0.0.1 and a free port; `close` ends it and its sockets. */
export async function listen(listener: RequestListener) {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
