import { describe, expect, it } from 'vitest';
import { createBudget } from './budget.js';
import { BudgetConfigError } from '../errors.js';
import { RUN_BUDGET_KEY, runBudgetFromContext } from './run-budget-key.js';

describe('runBudgetFromContext', () => {
  it('returns the budget a context carries under l402Budget', () => {
    const shared = createBudget({ maxSats: 100 });
    const run = shared.child({ name: 'run', maxSats: 10 });
    expect(RUN_BUDGET_KEY).toBe('l402Budget');
    expect(runBudgetFromContext({ l402Budget: run, userId: 'u1' })).toBe(run);
  });

  it('returns undefined when there is no context or no budget in it', () => {
    for (const context of [undefined, null, 'text', 42, {}, { l402Budget: undefined }]) {
      expect(runBudgetFromContext(context)).toBeUndefined();
    }
  });

  it('refuses a value that is not a budget instead of running without a limit', () => {
    for (const value of [{ maxSats: 50 }, 50, 'run', null, [createBudget()]]) {
      let caught: unknown;
      try {
        runBudgetFromContext({ l402Budget: value });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(BudgetConfigError);
      expect((caught as BudgetConfigError).code).toBe('BUDGET_CONFIG');
      expect((caught as BudgetConfigError).paid).toBe(false);
      expect((caught as Error).message).toContain('nothing was paid');
    }
  });

  it('never repeats what the context holds in its message', () => {
    for (const value of [{ secret: 'nwc://hunter2' }, 'nwc://hunter2']) {
      let message = '';
      try {
        runBudgetFromContext({ l402Budget: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/not (a plain object|a string)/);
      expect(message).not.toContain('hunter2');
    }
  });
});
