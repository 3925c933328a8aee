import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createSandboxNetwork,
  type SandboxNetwork,
  type SandboxNetworkOptions,
  type SandboxNode,
} from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';

export interface LoopbackPaywall {
  url: string;
  network: SandboxNetwork;
  merchant: SandboxNode;
  /** The one wallet every client under test pays from. */
  payer: SandboxNode;
  /** Paid requests that reached the content, by path. */
  delivered: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 selling every path for `priceSats` through the paywall's
 * Node middleware, on a sandbox network: the one server every client is measured against.
 */
export async function startLoopbackPaywall(
  options: { priceSats?: number; network?: SandboxNetworkOptions } = {},
): Promise<LoopbackPaywall> {
  const network = createSandboxNetwork(options.network);
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 1_000_000_000 });
  const paywall = createPaywall({
    wallet: merchant.wallet,
    rootKey: randomBytes(32),
    serviceName: 'bench',
    price: options.priceSats ?? 10,
    bindToPath: true,
  });
  const middleware = paywall.nodeMiddleware();
  const delivered = new Map<string, number>();
  const server = createServer((request, response) => {
    middleware(request, response, (error) => {
      if (error) {
        response.writeHead(500).end();
        return;
      }
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      delivered.set(path, (delivered.get(path) ?? 0) + 1);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ path }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    network,
    merchant,
    payer,
    delivered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Payments the network recorded as sent from `payer` (succeeded or still pending). */
export function paymentsFrom(network: SandboxNetwork, payer: SandboxNode): number {
  return network.payments.filter(
    (payment) => payment.payer === payer.name && payment.state !== 'failed',
  ).length;
}
