import { AsyncLocalStorage } from 'node:async_hooks';
import type { Budget } from './budget.js';

const runBudgets = new AsyncLocalStorage<Budget>();

/**
 * Runs `fn` with `budget` as the budget of this agent run: every paid fetch made inside it,
 * however deep in a framework's call stack, is charged to it (and to the fetch's own budget).
 * Concurrent runs each see their own budget.
 */
export function withBudget<T>(budget: Budget, fn: () => T): T {
  return runBudgets.run(budget, fn);
}

/** The budget of the agent run this code is part of, if any. */
export function currentRunBudget(): Budget | undefined {
  return runBudgets.getStore();
}

/**
 * The budgets one payment must fit: the run's budget and the fetch's own, without charging a
 * level twice when one is an ancestor of the other.
 */
export function budgetsToCharge(...candidates: (Budget | undefined)[]): Budget[] {
  const chosen: Budget[] = [];
  for (const candidate of candidates) {
    if (!candidate) continue;
    if (chosen.some((budget) => isSameOrAncestor(candidate, budget))) continue;
    for (let index = chosen.length - 1; index >= 0; index--) {
      if (isSameOrAncestor(chosen[index]!, candidate)) chosen.splice(index, 1);
    }
    chosen.push(candidate);
  }
  return chosen;
}

function isSameOrAncestor(ancestor: Budget, budget: Budget): boolean {
  for (let level: Budget | undefined = budget; level; level = level.parent) {
    if (level === ancestor) return true;
  }
  return false;
}
