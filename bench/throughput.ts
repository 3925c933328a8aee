import { performance } from 'node:perf_hooks';

/** One operation to measure; sync tasks are not awaited, so they pay no promise overhead. */
export interface ThroughputTask {
  name: string;
  run: () => unknown;
}

export interface ThroughputResult {
  name: string;
  /** Median over rounds of (operations in the round / elapsed time of the round). */
  opsPerSecond: number;
  /** Each round's operations per second, in round order. */
  roundRates: number[];
  /** Latency percentiles of single operations over all rounds, microseconds. */
  p50Micros: number;
  p90Micros: number;
  p99Micros: number;
  maxMicros: number;
  /** Process CPU time (user + system) per operation, median over rounds, microseconds. */
  cpuMicrosPerOperation: number;
  operations: number;
}

export interface ThroughputOptions {
  /** Rounds; in each, every task runs for `roundMs`, in an order rotated by one per round. */
  rounds?: number;
  roundMs?: number;
  /** Untimed run of every task before the first round (JIT, caches). */
  warmupMs?: number;
}

const MAX_SAMPLES = 200_000;

/**
 * Real throughput: operations divided by the elapsed time of the interval they ran in, GC
 * pauses and all. Tasks run interleaved in rounds, so load from other processes hits each
 * alike, and the median round is reported; latency percentiles sit beside it.
 */
export async function measureThroughput(
  tasks: ThroughputTask[],
  options: ThroughputOptions = {},
): Promise<ThroughputResult[]> {
  const rounds = options.rounds ?? 9;
  const roundMs = options.roundMs ?? 200;
  for (const task of tasks) await runFor(task, options.warmupMs ?? 200, undefined);
  const state = tasks.map(() => ({
    rates: [] as number[],
    cpu: [] as number[],
    samples: new Float64Array(MAX_SAMPLES),
    sampleCount: 0,
    operations: 0,
  }));
  for (let round = 0; round < rounds; round++) {
    for (let offset = 0; offset < tasks.length; offset++) {
      const index = (round + offset) % tasks.length;
      const task = tasks[index]!;
      const slot = state[index]!;
      const cpuBefore = process.cpuUsage();
      const { operations, elapsedMs } = await runFor(task, roundMs, slot);
      const cpu = process.cpuUsage(cpuBefore);
      slot.rates.push((operations * 1_000) / elapsedMs);
      slot.cpu.push((cpu.user + cpu.system) / operations);
      slot.operations += operations;
    }
  }
  return tasks.map((task, index) => {
    const slot = state[index]!;
    const samples = slot.samples.subarray(0, slot.sampleCount).sort();
    return {
      name: task.name,
      opsPerSecond: median(slot.rates),
      roundRates: slot.rates,
      p50Micros: percentile(samples, 0.5) * 1_000,
      p90Micros: percentile(samples, 0.9) * 1_000,
      p99Micros: percentile(samples, 0.99) * 1_000,
      maxMicros: (samples[samples.length - 1] ?? 0) * 1_000,
      cpuMicrosPerOperation: median(slot.cpu),
      operations: slot.operations,
    };
  });
}

async function runFor(
  task: ThroughputTask,
  durationMs: number,
  slot: { samples: Float64Array; sampleCount: number } | undefined,
): Promise<{ operations: number; elapsedMs: number }> {
  const started = performance.now();
  const deadline = started + durationMs;
  let operations = 0;
  let now = started;
  while (now < deadline) {
    const before = now;
    const result = task.run();
    if (result instanceof Promise) await result;
    now = performance.now();
    operations++;
    if (slot !== undefined && slot.sampleCount < MAX_SAMPLES) {
      slot.samples[slot.sampleCount++] = now - before;
    }
  }
  return { operations, elapsedMs: now - started };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The value at `fraction` of an ascending list (nearest rank). */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}
