import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createBudget,
  createPaidFetch,
  formatCredential,
  MemoryTokenStore,
  type PayInvoiceRequest,
  type StoredToken,
  tokenTarget,
  type Wallet,
} from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';
import { Bench } from 'tinybench';
import { type BenchTable, round } from './bench-table.js';
import { startLoopbackPaywall } from './loopback-paywall.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };

/**
 * A request with a cached token against a plain `fetch` sending the same credential to the
 * same loopback server, so both cost the server the same: the difference is the paid fetch's
 * own work (policy check, token lookup, request copy). Against the paywall, and against a
 * server that answers at once, where the client's share of the time is largest.
 */
export async function cachedTokenBench(options: { pairs?: number } = {}): Promise<BenchTable> {
  const api = await startLoopbackPaywall();
  const bare = await startBareServer();
  try {
    const tokenStore = new MemoryTokenStore();
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget: createBudget({ maxSats: 1_000 }),
      policy: loopbackPolicy,
      tokenStore,
    });
    const paywalled = `${api.url}/cached`;
    await (await paidFetch(paywalled)).text();
    const [token] = await tokenStore.list();
    if (!token?.preimage) throw new Error('the token was not bought');
    const credential = formatCredential({
      scheme: token.scheme,
      macaroon: token.macaroon,
      preimage: token.preimage,
    });
    // The same token filed under the bare server's origin, which answers without checking it.
    const bareUrl = `${bare.url}/cached`;
    await tokenStore.put({ ...token, ...tokenTarget(new URL(bareUrl), 'GET') } as StoredToken);

    const targets = [
      { server: '@l402kit/server paywall (verifies the token)', url: paywalled },
      { server: 'bare node:http server (answers at once)', url: bareUrl },
    ];
    const rows = [];
    for (const target of targets) {
      const plain = async () => {
        const response = await fetch(target.url, { headers: { authorization: credential } });
        if (response.status !== 200) throw new Error(`plain fetch got ${response.status}`);
        await response.arrayBuffer();
      };
      const paid = async () => {
        const response = await paidFetch(target.url);
        if (!response.l402.usedCachedToken) throw new Error('the cached token was not used');
        await response.arrayBuffer();
      };
      const { plainMs, paidMs, ratios } = await pairedSamples(plain, paid, options.pairs ?? 3_000);
      rows.push({
        server: target.server,
        'plain fetch µs (median)': round(median(plainMs) * 1_000),
        'paid fetch µs (median)': round(median(paidMs) * 1_000),
        'median ratio (target <= 1.10)': round(median(ratios), 3),
        'extra µs per request (median)': round((median(paidMs) - median(plainMs)) * 1_000),
        pairs: ratios.length,
      });
    }
    if (api.network.payments.length !== 1) throw new Error('the benchmark paid more than once');
    return {
      id: 'cached-token',
      title: 'Request with a cached token vs plain fetch with the same credential, same server',
      rows,
      notes: [
        'Measured in pairs, one request of each back to back in alternating order, so load on the machine hits both alike; median ratio = median over pairs of paid / plain.',
        'Both send the same Authorization header, so the server does the same work; the ratio is the paid fetch overhead.',
        'Exactly one payment was made: the token bought before measuring.',
      ],
    };
  } finally {
    await api.close();
    await bare.close();
  }
}

/**
 * The client's own time in a full buy cycle (402 -> decode and check -> reserve -> pay ->
 * verify the preimage -> store -> retry -> 200), without the network, the server or the
 * wallet: the paid fetch calls the paywall's Fetch handler in-process, and the time spent in
 * the handler and in the sandbox wallet (no latency) is measured and taken out.
 */
export async function clientBuyCycleBench(options: { timeMs?: number } = {}): Promise<BenchTable> {
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 1_000_000_000 });
  let serverMs = 0;
  let walletMs = 0;
  const handler = createPaywall({
    wallet: merchant.wallet,
    rootKey: randomBytes(32),
    serviceName: 'bench',
    price: 10,
  }).handler(() => new Response('content'));
  const inProcessFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const started = performance.now();
    const response = await handler(request);
    serverMs += performance.now() - started;
    return response;
  }) as typeof fetch;
  const timedWallet: Wallet = {
    name: 'timed sandbox',
    network: payer.wallet.network,
    async payInvoice(request: PayInvoiceRequest) {
      const started = performance.now();
      try {
        return await payer.wallet.payInvoice(request);
      } finally {
        walletMs += performance.now() - started;
      }
    },
  };
  const paidFetch = createPaidFetch({
    wallet: timedWallet,
    budget: createBudget({ name: 'bench' }),
    policy: loopbackPolicy,
    fetch: inProcessFetch,
  });

  let next = 0;
  const cycles: { totalMs: number; serverMs: number; walletMs: number }[] = [];
  const cycle = async () => {
    serverMs = 0;
    walletMs = 0;
    const started = performance.now();
    // A new path each time, so every call buys.
    const response = await paidFetch(`http://127.0.0.1/buy/${next++}`);
    const totalMs = performance.now() - started;
    if (!response.l402.paid) throw new Error('the cycle did not pay');
    return { totalMs, serverMs, walletMs };
  };
  for (let warmup = 0; warmup < 50; warmup++) await cycle();
  const bench = new Bench({ time: options.timeMs ?? 2_000, warmup: false, throws: true });
  bench.add('buy cycle', async () => {
    cycles.push(await cycle());
  });
  await bench.run();
  const measured = cycles;
  const client = median(measured.map((cycle) => cycle.totalMs - cycle.serverMs - cycle.walletMs));
  const row = {
    'whole cycle ms (median)': round(median(measured.map((cycle) => cycle.totalMs))),
    'server handler ms': round(median(measured.map((cycle) => cycle.serverMs))),
    'sandbox wallet ms': round(median(measured.map((cycle) => cycle.walletMs))),
    'client ms': round(client),
    'client cycles/s': round(1_000 / client, 1),
    cycles: measured.length,
    'payments per cycle': round(network.payments.length / next),
  };
  return {
    id: 'client-buy-cycle',
    title: 'Client-side time of a full buy cycle (no network, server and wallet time taken out)',
    rows: [row],
    notes: [
      'client ms = whole cycle - time inside the paywall handler - time inside wallet.payInvoice, per cycle, median.',
      'It includes decoding and checking the invoice and macaroon, policy, budget reserve/commit, the pending and paid token writes, the preimage check and building both requests.',
    ],
  };
}

/** Times `a` and `b` back to back, alternating which goes first, after a warm-up. */
async function pairedSamples(a: () => Promise<void>, b: () => Promise<void>, pairs: number) {
  const time = async (task: () => Promise<void>) => {
    const started = performance.now();
    await task();
    return performance.now() - started;
  };
  for (let warmup = 0; warmup < 300; warmup++) {
    await a();
    await b();
  }
  const plainMs: number[] = [];
  const paidMs: number[] = [];
  const ratios: number[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    let first: number;
    let second: number;
    if (pair % 2 === 0) {
      first = await time(a);
      second = await time(b);
    } else {
      second = await time(b);
      first = await time(a);
    }
    plainMs.push(first);
    paidMs.push(second);
    ratios.push(second / first);
  }
  return { plainMs, paidMs, ratios };
}

async function startBareServer() {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"path":"/cached"}');
  });
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
