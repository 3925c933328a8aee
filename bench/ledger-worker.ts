// Run as a child process by ledger.bench.ts:
//   node --import tsx bench/ledger-worker.ts
// Env: KIND (memory | sqlite), DATABASE_PATH (for sqlite). Prints {"ready":true}, then for
// every line read from stdin (a duration in ms) reserves and commits 10 sats in a daily budget
// for that long, one after the other, and prints {operations, elapsedMs, cpuMicros}.
import { createInterface } from 'node:readline';
import {
  createBudget,
  createMemoryLedger,
  openSqliteDatabase,
  openSqliteLedger,
  type SpendLedger,
} from '@l402kit/core';

const ledger: SpendLedger =
  process.env.KIND === 'sqlite'
    ? openSqliteLedger(openSqliteDatabase(process.env.DATABASE_PATH!))
    : createMemoryLedger();
// A limit no run reaches: every reservation is granted.
const daily = createBudget({ name: 'daily', maxSats: 10n ** 12n, window: '24h', ledger });
const request = { amountMsat: 10_000n, maxFeeMsat: 1_000n, host: 'api.example.com' };
await (await daily.reserve(request)).commit(1_000n);

console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  const durationMs = Number(line);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let operations = 0;
  let now = started;
  while (now - started < durationMs) {
    const reservation = await daily.reserve(request);
    await reservation.commit(1_000n);
    operations++;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpuBefore);
  console.log(
    JSON.stringify({ operations, elapsedMs: now - started, cpuMicros: cpu.user + cpu.system }),
  );
}
