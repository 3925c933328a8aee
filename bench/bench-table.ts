/** One printed table of `pnpm bench`; the same object goes into bench/results/latest.json. */
export interface BenchTable {
  /** Stable key in latest.json, e.g. "buy-cycle". */
  id: string;
  title: string;
  rows: Record<string, string | number>[];
  /** What the rows mean and how they were measured, printed under the table. */
  notes?: string[];
  /** Goals from issue 14 measured by this table, gathered under `targets` in latest.json. */
  targets?: BenchTarget[];
}

/** A ratio measured in one run against the goal it must meet. */
export interface BenchTarget {
  target: string;
  value: number;
  /** E.g. ">= 0.8". */
  goal: string;
  met: boolean;
}

/** Rounds for display without losing the order of magnitude. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
