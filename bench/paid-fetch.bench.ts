import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createBudget,
  createPaidFetch,
  formatCredential,
  MemoryTokenStore,
  type StoredToken,
  tokenTarget,
} from '@l402kit/core';
import { type BenchTable, round } from './bench-table.js';
import { startLoopbackPaywall } from './loopback-paywall.js';
import { median } from './throughput.js';

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
        'median ratio (target <= 1.05)': round(median(ratios), 3),
        'extra µs per request (median)': round((median(paidMs) - median(plainMs)) * 1_000),
        pairs: ratios.length,
      });
    }
    if (api.network.payments.length !== 1) throw new Error('the benchmark paid more than once');
    const paywallRatio = Number(rows[0]!['median ratio (target <= 1.05)']);
    return {
      id: 'cached-token',
      title: 'Request with a cached token vs plain fetch with the same credential, same server',
      rows,
      notes: [
        'Measured in pairs, one request of each back to back in alternating order, so load on the machine hits both alike; median ratio = median over pairs of paid / plain.',
        'Both send the same Authorization header, so the server does the same work; the ratio is the paid fetch overhead.',
        'Exactly one payment was made: the token bought before measuring.',
      ],
      targets: [
        {
          target: 'request with a cached token / plain fetch, same credential, paywall server',
          value: paywallRatio,
          goal: '<= 1.05',
          met: paywallRatio <= 1.05,
        },
      ],
    };
  } finally {
    await api.close();
    await bare.close();
  }
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
