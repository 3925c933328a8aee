// `pnpm bench`: runs every benchmark in this folder, prints a table for each and writes them
// all to bench/results/latest.json. Give ids (e.g. `buy-cycle paywall`) to run only those
// (printed, not written); with `--merge` their tables replace the same tables in latest.json
// and the run is listed under `merged` there (the other tables keep their own run's date and load).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import type { BenchTable } from './bench-table.js';
import { memoryBench } from './memory.bench.js';
import { clientChecksBench } from './client-checks.bench.js';
import { clientBuyCycleBench } from './client-cycle.bench.js';
import { ledgerBench } from './ledger.bench.js';
import { cachedTokenBench, cachedTokenStoresBench } from './paid-fetch.bench.js';
import { tokenStoresBench } from './token-stores.bench.js';
import { paywallBench } from './paywall.bench.js';
import { postgresBench } from './postgres.bench.js';
import { buyCycleBench, concurrencyBench } from './peers.bench.js';

/** Each benchmark returns its table; add new ones here. */
const benchmarks: { id: string; run: () => Promise<BenchTable> }[] = [
  { id: 'cached-token', run: () => cachedTokenBench() },
  { id: 'client-buy-cycle', run: () => clientBuyCycleBench() },
  { id: 'client-checks', run: () => clientChecksBench() },
  { id: 'buy-cycle', run: () => buyCycleBench() },
  { id: 'concurrent-payments', run: () => concurrencyBench() },
  { id: 'paywall', run: () => paywallBench() },
  { id: 'memory', run: () => memoryBench() },
  { id: 'token-stores', run: () => tokenStoresBench() },
  { id: 'ledger', run: () => ledgerBench() },
  { id: 'cached-token-stores', run: () => cachedTokenStoresBench() },
  { id: 'postgres', run: () => postgresBench() },
];

const merge = process.argv.includes('--merge');
const only = process.argv.slice(2).filter((argument) => argument !== '--merge');
if (merge && only.length === 0) throw new Error('--merge needs the ids of the benchmarks to run');
const tables: BenchTable[] = [];
const started = performance.now();
const loadAverageAtStart = loadavg().map((load) => Math.round(load * 100) / 100);
for (const benchmark of benchmarks) {
  if (only.length > 0 && !only.includes(benchmark.id)) continue;
  const table = await benchmark.run();
  tables.push(table);
  console.log(`\n${table.title}`);
  console.table(table.rows);
  for (const note of table.notes ?? []) console.log(`  ${note}`);
}

// Every goal measured in this run, in one place.
const targets = tables.flatMap((table) => table.targets ?? []);
if (targets.length > 0) {
  console.log('\nTargets, measured in this run');
  console.table(targets);
}

const results = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  // Other work on the machine slows wall-clock figures; the load says how busy it was.
  loadAverageAtStart,
  loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
  seconds: Math.round((performance.now() - started) / 1000),
  targets,
  tables,
};
const directory = new URL('./results/', import.meta.url);
const latest = new URL('latest.json', directory);
if (only.length === 0) {
  await mkdir(directory, { recursive: true });
  await writeFile(latest, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nWrote bench/results/latest.json (${results.seconds} s).`);
} else if (merge) {
  const earlier = JSON.parse(await readFile(latest, 'utf8')) as typeof results & {
    merged?: unknown[];
  };
  const merged = [
    ...earlier.tables.filter((table) => !tables.some((each) => each.id === table.id)),
    ...tables,
  ];
  const { tables: _, targets: __, ...run } = results;
  await writeFile(
    latest,
    `${JSON.stringify(
      {
        ...earlier,
        targets: merged.flatMap((table) => table.targets ?? []),
        tables: merged,
        merged: [...(earlier.merged ?? []), { ...run, ids: only }],
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nMerged ${only.join(', ')} into bench/results/latest.json (${results.seconds} s).`);
}
