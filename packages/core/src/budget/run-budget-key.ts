import type { Budget } from './budget.js';
import { BudgetConfigError } from '../errors.js';

/**
 * The key under which a framework's per-call context carries the run budget, e.g. LangChain's
 * `agent.invoke(input, { context: { l402Budget } })` or the AI SDK's `toolsContext`.
 */
export const RUN_BUDGET_KEY = 'l402Budget';

/** A per-call context that gives the run its budget. */
export interface RunBudgetContext {
  [RUN_BUDGET_KEY]?: Budget;
}

/**
 * The run budget a framework's per-call context carries under `l402Budget`, or undefined when
 * it carries none. Throws `BudgetConfigError` when the key holds something else (say budget
 * options instead of a budget): ignoring it would leave the run without its limit.
 */
export function runBudgetFromContext(context: unknown): Budget | undefined {
  if (context === null || typeof context !== 'object') return undefined;
  const value: unknown = (context as Record<string, unknown>)[RUN_BUDGET_KEY];
  if (value === undefined) return undefined;
  if (isBudget(value)) return value;
  throw new BudgetConfigError(
    `"${RUN_BUDGET_KEY}" in the run context must be a budget made with createBudget() or budget.child(), not ${describe(value)}; nothing was paid.`,
  );
}

function isBudget(value: unknown): value is Budget {
  const candidate = value as Partial<Budget> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.reserve === 'function' &&
    typeof candidate.status === 'function' &&
    typeof candidate.child === 'function'
  );
}

// Names the kind of value only: a context may hold secrets, so its contents are never repeated.
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'a plain object' : `a ${typeof value}`;
}
