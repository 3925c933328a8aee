import { randomBytes } from 'node:crypto';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';
import { type BenchTable, round } from './bench-table.js';
import { createClients } from './peer-clients.js';
import { median, percentile } from './throughput.js';

/** Process CPU time (user + system) in microseconds since `before`. */
function cpuSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

/**
 * Each client's own CPU in a full buy cycle (402 -> pay -> retry -> 200): the cycle's process
 * CPU minus the CPU spent in the paywall's handler and in the wallet. Every client sends its
 * requests through the same in-process fetch that calls the paywall's Fetch handler (no
 * sockets), so what is left is the client: reading the challenge, its checks, building the
 * credential, its token store, both requests and responses.
 */
export async function clientBuyCycleBench(
  options: { rounds?: number; cyclesPerRound?: number } = {},
): Promise<BenchTable> {
  const rounds = options.rounds ?? 8;
  const cyclesPerRound = options.cyclesPerRound ?? 150;
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 1_000_000_000 });
  const handler = createPaywall({
    wallet: merchant.wallet,
    rootKey: randomBytes(32),
    serviceName: 'bench',
    price: 10,
    bindToPath: true,
  }).handler((request) => Response.json({ path: new URL(request.url).pathname }));

  // CPU of the current cycle spent outside the client, microseconds.
  let serverCpu = 0;
  let walletCpu = 0;
  const inProcessFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const before = process.cpuUsage();
    try {
      return await handler(request);
    } finally {
      serverCpu += cpuSince(before);
    }
  }) as typeof fetch;
  const aroundPayment = async <T>(pay: () => Promise<T>): Promise<T> => {
    const before = process.cpuUsage();
    try {
      return await pay();
    } finally {
      walletCpu += cpuSince(before);
    }
  };
  const clients = createClients(payer.wallet, { fetch: inProcessFetch, aroundPayment });
  const samples = clients.map(() => ({
    client: [] as number[],
    server: [] as number[],
    wallet: [] as number[],
    cycles: 0,
    payments: 0,
  }));

  // lightning-tools calls the global fetch: it is the in-process one while this runs.
  const globalFetch = globalThis.fetch;
  globalThis.fetch = inProcessFetch;
  let next = 0;
  const cycle = async (index: number, record: boolean) => {
    const client = clients[index]!;
    const paymentsBefore = network.payments.length;
    serverCpu = 0;
    walletCpu = 0;
    const before = process.cpuUsage();
    // A new path each time, so every cycle buys.
    const status = await client.get(`http://api.example/buy/${index}/${next++}`);
    const total = cpuSince(before);
    if (status !== 200) throw new Error(`${client.name} got ${status}`);
    if (!record) return;
    const slot = samples[index]!;
    slot.client.push(total - serverCpu - walletCpu);
    slot.server.push(serverCpu);
    slot.wallet.push(walletCpu);
    slot.cycles += 1;
    slot.payments += network.payments.length - paymentsBefore;
  };
  try {
    for (let index = 0; index < clients.length; index++) {
      for (let warmup = 0; warmup < 100; warmup++) await cycle(index, false);
    }
    // Rounds in rotating order, so load from other processes falls on every client alike.
    for (let turn = 0; turn < rounds; turn++) {
      for (let offset = 0; offset < clients.length; offset++) {
        const index = (turn + offset) % clients.length;
        for (let count = 0; count < cyclesPerRound; count++) await cycle(index, true);
      }
    }
  } finally {
    globalThis.fetch = globalFetch;
  }

  const clientMedians = samples.map((slot) => median(slot.client));
  const lightestPeer = Math.min(...clientMedians.slice(1));
  return {
    id: 'client-buy-cycle',
    title: "Each client's own CPU in a buy cycle (server and wallet CPU taken out, no sockets)",
    rows: clients.map((client, index) => {
      const slot = samples[index]!;
      const sorted = [...slot.client].sort((a, b) => a - b);
      return {
        client: client.name,
        'client CPU µs per cycle (median)': round(clientMedians[index]!),
        'client CPU µs p90': round(percentile(sorted, 0.9)),
        'x lightest peer': round(clientMedians[index]! / lightestPeer),
        'server CPU µs': round(median(slot.server)),
        'wallet CPU µs': round(median(slot.wallet)),
        cycles: slot.cycles,
        'payments per cycle': round(slot.payments / slot.cycles),
      };
    }),
    notes: [
      'client CPU = process CPU of the cycle - CPU inside the paywall handler - CPU inside the wallet call, per cycle; median over all cycles.',
      "The wallet call of the peers includes the shim that reads the invoice's amount and hash for the sandbox wallet (a real peer wallet, e.g. NWC, does that on its side); l402kit decodes and checks the invoice itself, which counts as client CPU.",
      `${rounds} rounds in rotating order, ${cyclesPerRound} cycles per client per round, after 100 warm-up cycles each.`,
    ],
    targets: [
      {
        target: 'client CPU of a buy cycle / lightest peer client',
        value: round(clientMedians[0]! / lightestPeer),
        goal: '<= 1.2',
        met: clientMedians[0]! / lightestPeer <= 1.2,
      },
    ],
  };
}
