import { randomBytes } from 'node:crypto';
import {
  createSandboxNetwork,
  type SandboxNetworkOptions,
  type SandboxNode,
} from '@l402kit/sandbox';
import { createPaywall, type PaywallOptions } from '@l402kit/server';
import { type LoopbackServer, type ServeOptions, serveFetch } from './serve-fetch.js';

export interface PaidApi extends LoopbackServer {
  network: ReturnType<typeof createSandboxNetwork>;
  merchant: SandboxNode;
  payer: SandboxNode;
  /** Requests that reached the paid handler, by path. */
  delivered: Map<string, number>;
  /** Every request the server received, paid or not, in order. */
  requests: { method: string; path: string; authorization: string | null }[];
}

export interface PaidApiOptions {
  network?: SandboxNetworkOptions;
  payerBalanceSats?: number;
  paywall?: Partial<PaywallOptions>;
  /** Where and how the server listens. */
  serve?: ServeOptions;
  /** The paid content; default echoes method, path and body. */
  handler?: (request: Request) => Response | Promise<Response>;
}

/** A real loopback HTTP server selling every path behind an L402 paywall, on a sandbox network. */
export async function startPaidApi(options: PaidApiOptions = {}): Promise<PaidApi> {
  const network = createSandboxNetwork(options.network);
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({
    name: 'payer',
    balanceSats: options.payerBalanceSats ?? 100_000,
  });
  const delivered = new Map<string, number>();
  const paywall = createPaywall({
    wallet: merchant.wallet,
    rootKey: randomBytes(32),
    serviceName: 'testapi',
    price: 10,
    ...options.paywall,
  });
  const inner =
    options.handler ??
    (async (request: Request) =>
      new Response(
        JSON.stringify({
          method: request.method,
          path: new URL(request.url).pathname,
          body: request.body ? await request.text() : null,
        }),
        { headers: { 'content-type': 'application/json' } },
      ));
  const handle = paywall.handler(async (request) => {
    const path = new URL(request.url).pathname;
    delivered.set(path, (delivered.get(path) ?? 0) + 1);
    return inner(request);
  });
  const requests: PaidApi['requests'] = [];
  const server = await serveFetch((request) => {
    requests.push({
      method: request.method,
      path: new URL(request.url).pathname,
      authorization: request.headers.get('authorization'),
    });
    return handle(request);
  }, options.serve);
  return { ...server, network, merchant, payer, delivered, requests };
}
