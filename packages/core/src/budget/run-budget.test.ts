import { describe, expect, it } from 'vitest';
import { createBudget } from './budget.js';
import { budgetsToCharge, currentRunBudget, withBudget } from './run-budget.js';

describe('budgetsToCharge', () => {
  it('keeps the most specific level of each chain, so no level is charged twice', () => {
    const daily = createBudget({ name: 'daily' });
    const run = daily.child({ name: 'run' });
    const call = run.child({ name: 'call' });
    const other = createBudget({ name: 'other' });
    expect(budgetsToCharge(daily, run)).toEqual([run]);
    expect(budgetsToCharge(run, daily)).toEqual([run]);
    expect(budgetsToCharge(daily, call, run)).toEqual([call]);
    expect(budgetsToCharge(daily, undefined, other)).toEqual([daily, other]);
    expect(budgetsToCharge(daily, daily)).toEqual([daily]);
    expect(budgetsToCharge()).toEqual([]);
  });
});

describe('withBudget', () => {
  it('gives each concurrent run its own budget across awaits', async () => {
    const first = createBudget({ name: 'first' });
    const second = createBudget({ name: 'second' });
    const seen = await Promise.all([
      withBudget(first, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return currentRunBudget();
      }),
      withBudget(second, async () => {
        await Promise.resolve();
        return currentRunBudget();
      }),
    ]);
    expect(seen).toEqual([first, second]);
    expect(currentRunBudget()).toBeUndefined();
  });
});
