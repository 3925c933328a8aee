import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type BenchTable, round } from './bench-table.js';
import { median } from './throughput.js';

const workerScript = fileURLToPath(new URL('./ledger-worker.ts', import.meta.url));

interface Interval {
  operations: number;
  elapsedMs: number;
  cpuMicros: number;
}

/** A ledger worker process (ledger-worker.ts). */
async function startLedgerWorker(env: Record<string, string>) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', workerScript],
    { env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`a ledger worker exited: ${stderr.slice(-2000)}`);
    return JSON.parse(line.value) as Interval & { ready?: boolean };
  };
  await next();
  return {
    /** Reserves and commits for `durationMs`; resolves with what it did. */
    async run(durationMs: number): Promise<Interval> {
      child.stdin.write(`${durationMs}\n`);
      return next();
    },
    stop: () => child.kill(),
  };
}

/**
 * Reserve + commit per second in a daily budget (a 24 h window, as `l402kit budget set`
 * makes): the memory ledger, the SQLite ledger in one process, and four processes sharing
 * one SQLite file (all reserving at once; their operations added up). Each configuration runs
 * in its own processes, in rounds of `roundMs` interleaved between configurations; the
 * median round is reported.
 */
export async function ledgerBench(
  options: { rounds?: number; roundMs?: number } = {},
): Promise<BenchTable> {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 1_000;
  const directory = await mkdtemp(join(tmpdir(), 'l402kit-bench-ledger-'));
  const configurations = [
    { name: 'memory ledger, 1 process', kind: 'memory', processes: 1, file: '' },
    { name: 'SQLite ledger, 1 process', kind: 'sqlite', processes: 1, file: 'one.db' },
    {
      name: 'SQLite ledger, 4 processes on one file',
      kind: 'sqlite',
      processes: 4,
      file: 'four.db',
    },
  ];
  const started = await Promise.all(
    configurations.map((configuration) =>
      Promise.all(
        Array.from({ length: configuration.processes }, () =>
          startLedgerWorker({
            KIND: configuration.kind,
            DATABASE_PATH: join(directory, configuration.file || 'unused.db'),
          }),
        ),
      ),
    ),
  );
  try {
    const results = configurations.map(() => ({ rates: [] as number[], cpu: [] as number[] }));
    for (let round = 0; round < rounds; round++) {
      for (let offset = 0; offset < configurations.length; offset++) {
        const index = (round + offset) % configurations.length;
        const intervals = await Promise.all(started[index]!.map((worker) => worker.run(roundMs)));
        const operations = intervals.reduce((sum, each) => sum + each.operations, 0);
        const elapsedMs = Math.max(...intervals.map((each) => each.elapsedMs));
        const cpuMicros = intervals.reduce((sum, each) => sum + each.cpuMicros, 0);
        results[index]!.rates.push((operations * 1_000) / elapsedMs);
        results[index]!.cpu.push(cpuMicros / operations);
      }
    }
    const memoryRate = median(results[0]!.rates);
    return {
      id: 'ledger',
      title: 'Durable budgets: reserve + commit per second',
      rows: configurations.map((configuration, index) => ({
        ledger: configuration.name,
        'reserve + commit per s (all processes)': round(median(results[index]!.rates)),
        'µs per reserve + commit': round(1e6 / median(results[index]!.rates), 1),
        'CPU µs per reserve + commit': round(median(results[index]!.cpu), 1),
        '× memory': round(median(results[index]!.rates) / memoryRate, 3),
      })),
      notes: [
        `Each process reserves 10 sats + 1 sat fee limit in a daily (24 h window) budget and commits it, one after the other; ${rounds} rounds of ${roundMs} ms, interleaved, median round.`,
        'SQLite: WAL journal, every reservation and every commit one BEGIN IMMEDIATE transaction synced to disk on commit (synchronous = FULL), so 2 fsyncs per payment; processes on one file take turns for the write lock.',
      ],
    };
  } finally {
    for (const workers of started) for (const worker of workers) worker.stop();
    await rm(directory, { recursive: true, force: true });
  }
}
