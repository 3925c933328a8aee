import { type BenchTable, round } from './bench-table.js';
import { paymentsFrom, startLoopbackPaywall } from './loopback-paywall.js';
import { createClients } from './peer-clients.js';
import { measureThroughput } from './throughput.js';

/**
 * Full buy cycles (402 -> pay on the sandbox -> retry -> 200) per second, every client
 * against the same loopback server and the same sandbox wallet, in one process.
 */
export async function buyCycleBench(
  options: { rounds?: number; roundMs?: number } = {},
): Promise<BenchTable> {
  const rounds = options.rounds ?? 8;
  const api = await startLoopbackPaywall();
  try {
    const clients = createClients(api.payer.wallet);
    const counts = clients.map(() => ({ calls: 0, payments: 0 }));
    let next = 0;
    const results = await measureThroughput(
      clients.map((client, index) => ({
        name: client.name,
        run: async () => {
          const before = api.network.payments.length;
          // A new path each time: every call meets an unpaid resource and buys it.
          const status = await client.get(`${api.url}/buy/${index}/${next++}`);
          if (status !== 200) throw new Error(`${client.name} got ${status}`);
          counts[index]!.calls += 1;
          counts[index]!.payments += api.network.payments.length - before;
        },
      })),
      { rounds, roundMs: options.roundMs ?? 250, warmupMs: 150 },
    );
    const ours = results[0]!;
    return {
      id: 'buy-cycle',
      title: 'Full buy cycle over HTTP (402 -> pay -> retry -> 200), same server and wallet',
      rows: results.map((result, index) => ({
        client: result.name,
        'cycles/s': round(result.opsPerSecond, 1),
        'l402kit speed ratio': round(ours.opsPerSecond / result.opsPerSecond),
        'p50 ms': round(result.p50Micros / 1_000),
        'p99 ms': round(result.p99Micros / 1_000),
        'CPU ms per cycle': round(result.cpuMicrosPerOperation / 1_000),
        'l402kit CPU ratio': round(result.cpuMicrosPerOperation / ours.cpuMicrosPerOperation),
        'payments per call': round(counts[index]!.payments / counts[index]!.calls),
      })),
      notes: [
        'cycles/s = cycles / elapsed time of a round, median of the rounds; clients interleaved in rotating order, each for a short slice per round.',
        '"l402kit speed ratio" = l402kit\'s cycles/s / this client\'s: above 1 means l402kit completes buy cycles faster.',
        '"CPU ms per cycle" is process CPU per cycle (client, server and sandbox together, all in this process). "l402kit CPU ratio" = this client\'s / l402kit\'s.',
        '"payments per call" = sandbox payments / calls (warm-up included): 1 means each cycle paid exactly once.',
      ],
    };
  } finally {
    await api.close();
  }
}

/**
 * Payments made when N calls hit one unpaid resource at once. Payments take `latencyMs`
 * on the sandbox, as a real Lightning payment takes a round trip, so the calls overlap.
 */
export async function concurrencyBench(
  options: { sizes?: number[]; latencyMs?: number } = {},
): Promise<BenchTable> {
  const sizes = options.sizes ?? [1, 10, 100];
  const api = await startLoopbackPaywall({ network: { latencyMs: options.latencyMs ?? 25 } });
  try {
    const clients = createClients(api.payer.wallet);
    const rows: BenchTable['rows'] = [];
    for (const [index, client] of clients.entries()) {
      const row: Record<string, string | number> = { client: client.name };
      for (const size of sizes) {
        const path = `/race/${index}/${size}`;
        const before = paymentsFrom(api.network, api.payer);
        const results = await Promise.allSettled(
          Array.from({ length: size }, () => client.get(`${api.url}${path}`)),
        );
        const payments = paymentsFrom(api.network, api.payer) - before;
        const ok = results.filter(
          (result) => result.status === 'fulfilled' && result.value === 200,
        );
        row[`N=${size} payments`] = payments;
        if (ok.length !== size) row[`N=${size} failed calls`] = size - ok.length;
      }
      // One more call, after the others finished, to a resource this client already bought.
      const before = paymentsFrom(api.network, api.payer);
      await client.get(`${api.url}/race/${index}/${sizes[0]}`);
      row['later call, same resource: payments'] = paymentsFrom(api.network, api.payer) - before;
      rows.push(row);
    }
    return {
      id: 'concurrent-payments',
      title: 'Payments made when N concurrent calls hit one unpaid resource',
      rows,
      notes: [
        'Counted in the sandbox ledger (payments sent from the wallet). 1 is the right answer for every N; every call got a 200 unless a "failed calls" column says otherwise.',
        `Each payment takes ${options.latencyMs ?? 25} ms on the sandbox network, so the calls overlap as they would against a real node.`,
        '"later call, same resource" is one sequential call after the others finished: 0 means the client reused the token it bought.',
      ],
    };
  } finally {
    await api.close();
  }
}
