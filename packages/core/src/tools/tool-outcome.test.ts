import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../errors.js';
import { formatToolError } from './tool-error.js';
import { isToolErrorText } from './tool-outcome.js';

describe('isToolErrorText', () => {
  it('recognises every failure report formatToolError makes for that tool', () => {
    const typed = formatToolError(
      'l402_fetch',
      new BudgetExceededError('over budget', { paid: false, amountMsat: 10_000n }),
    );
    const untyped = formatToolError('l402_quote', new Error('boom'));
    expect(isToolErrorText('l402_fetch', typed)).toBe(true);
    expect(isToolErrorText('l402_quote', untyped)).toBe(true);
  });

  it("does not flag success texts or another tool's failure", () => {
    expect(isToolErrorText('l402_fetch', 'HTTP 200 OK (text/plain)\nPaid 10 sats')).toBe(false);
    expect(isToolErrorText('l402_fetch', 'body says: l402_fetch failed')).toBe(false);
    const quoteFailure = formatToolError('l402_quote', new Error('boom'));
    expect(isToolErrorText('l402_fetch', quoteFailure)).toBe(false);
  });
});
