import { Bench } from 'tinybench';
import { type BenchTable, round } from './bench-table.js';
import { paymentsFrom, startLoopbackPaywall } from './loopback-paywall.js';
import { createClients } from './peer-clients.js';

/**
 * Full buy cycles (402 -> pay on the sandbox -> retry -> 200) per second, every client
 * against the same loopback server and the same sandbox wallet, in one process.
 */
export async function buyCycleBench(
  options: { rounds?: number; timeMs?: number } = {},
): Promise<BenchTable> {
  const rounds = options.rounds ?? 6;
  const api = await startLoopbackPaywall();
  try {
    const clients = createClients(api.payer.wallet);
    // Per client: cycle times pooled over all rounds, calls made and sandbox payments caused.
    const tally = new Map(
      clients.map((client) => [
        client.name,
        { samples: [] as number[], cpuSamples: [] as number[], calls: 0, payments: 0 },
      ]),
    );
    let next = 0;
    // Short rounds in rotating order, so a noisy neighbour slows every client alike.
    for (let round = 0; round < rounds; round++) {
      const bench = new Bench({
        time: options.timeMs ?? 300,
        warmupTime: 50,
        retainSamples: true,
        throws: true,
      });
      for (let offset = 0; offset < clients.length; offset++) {
        const index = (round + offset) % clients.length;
        const client = clients[index]!;
        const counts = tally.get(client.name)!;
        bench.add(client.name, async () => {
          const before = api.network.payments.length;
          const cpuBefore = process.cpuUsage();
          // A new path each time: every call meets an unpaid resource and buys it.
          const status = await client.get(`${api.url}/buy/${index}/${next++}`);
          const cpu = process.cpuUsage(cpuBefore);
          if (status !== 200) throw new Error(`${client.name} got ${status}`);
          counts.cpuSamples.push((cpu.user + cpu.system) / 1_000);
          counts.calls += 1;
          counts.payments += api.network.payments.length - before;
        });
      }
      await bench.run();
      for (const task of bench.tasks) {
        const result = task.result;
        if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
        tally.get(task.name)!.samples.push(...(result.latency.samples ?? []));
      }
    }

    const medians = new Map(
      [...tally].map(([name, counts]) => [name, median(counts.samples)] as const),
    );
    const cpuMedians = new Map(
      [...tally].map(([name, counts]) => [name, median(counts.cpuSamples)] as const),
    );
    const ours = medians.get(clients[0]!.name)!;
    const ourCpu = cpuMedians.get(clients[0]!.name)!;
    return {
      id: 'buy-cycle',
      title: 'Full buy cycle (402 -> pay -> retry -> 200), same server and wallet',
      rows: clients.map((client) => {
        const counts = tally.get(client.name)!;
        const cycleMs = medians.get(client.name)!;
        return {
          client: client.name,
          'cycles/s (median)': round(1_000 / cycleMs, 1),
          'l402kit speed ratio': round(cycleMs / ours),
          'CPU ms per cycle (median)': round(cpuMedians.get(client.name)!),
          'l402kit CPU ratio': round(cpuMedians.get(client.name)! / ourCpu),
          'cycles measured': counts.samples.length,
          'payments per call': round(counts.payments / counts.calls),
        };
      }),
      notes: [
        '"l402kit speed ratio" = this client\'s median cycle time / l402kit\'s: above 1 means l402kit completes a buy cycle faster.',
        '"CPU ms per cycle" is the process CPU time (client, server and sandbox, all in this process) one cycle used; unlike wall time it does not grow when other processes share the machine. "l402kit CPU ratio" compares it as above.',
        `Measured in ${rounds} short tinybench rounds in rotating order, samples pooled per client.`,
        '"payments per call" = sandbox payments / calls (warm-up included): 1 means each cycle paid exactly once.',
      ],
    };
  } finally {
    await api.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
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
