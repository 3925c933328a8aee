import { describe, expect, it } from 'vitest';
import { createBudget, reserveInBudgets } from './budget.js';
import { formatWindow, parseWindow } from './spend-ledger.js';

const host = 'api.example.com';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// The behaviour every ledger (memory, SQLite, PostgreSQL) shares is tested on all three in
// test/spend-ledger-contract.test.ts.
describe('budgets over ledgers', () => {
  it('charges a level shared by two budgets of one payment once', async () => {
    const daily = createBudget({ name: 'daily', maxSats: 10 });
    const runA = daily.child({ name: 'a' });
    const runB = daily.child({ name: 'b' });
    const reservation = await reserveInBudgets([runA, runB], {
      amountMsat: 10_000n,
      maxFeeMsat: 0n,
      host,
    });
    expect(await daily.status()).toMatchObject({ reservedMsat: 10_000n, remainingMsat: 0n });
    expect((await runA.status()).reservedMsat).toBe(10_000n);
    expect((await runB.status()).reservedMsat).toBe(10_000n);
    await reservation.commit(0n);
    expect((await daily.status()).spentMsat).toBe(10_000n);
  });

  it('gives two private budgets of the same name their own books', async () => {
    const daily = createBudget({ name: 'daily', maxSats: 10 });
    const one = daily.child();
    const two = daily.child();
    await (await one.reserve({ amountMsat: 4_000n, maxFeeMsat: 0n, host })).commit(0n);
    expect((await two.status()).spentMsat).toBe(0n);
    expect((await one.status()).spentMsat).toBe(4_000n);
  });

  it('reads windows as durations', () => {
    expect(parseWindow('1h')).toBe(HOUR);
    expect(parseWindow('24h')).toBe(DAY);
    expect(parseWindow('7d')).toBe(7 * DAY);
    expect(parseWindow(' 90 s ')).toBe(90_000);
    expect(parseWindow(1_500)).toBe(1_500);
    for (const bad of ['', '0h', '-1h', '1w', '1.5h', 'h', 0, -5, 1.5, Number.NaN]) {
      expect(() => parseWindow(bad as string | number)).toThrow(RangeError);
    }
    expect(() => createBudget({ maxSats: 1, window: 'daily' })).toThrow(/window must be/);
    expect(formatWindow(DAY)).toBe('24h');
    expect(formatWindow(7 * DAY)).toBe('7d');
    expect(formatWindow(36 * HOUR)).toBe('36h');
    expect(formatWindow(1_500)).toBe('1500ms');
  });
});
