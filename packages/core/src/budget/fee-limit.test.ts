import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFeeLimit, DEFAULT_FEE_LIMIT, maxFeeFor } from './fee-limit.js';

describe('maxFeeFor', () => {
  it('is 1 sat + 1 % by default, rounded up to the msat', () => {
    expect(maxFeeFor(10_000n)).toBe(1_100n);
    expect(maxFeeFor(1n)).toBe(1_001n);
    expect(maxFeeFor(100_000_000_000n)).toBe(1_000_001_000n);
  });

  it('never rounds the share down, for any amount and rate', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2_100_000_000_000_000_000n }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.bigInt({ min: 0n, max: 10_000_000n }),
        (amount, ppm, base) => {
          const fee = maxFeeFor(amount, { baseMsat: base, ppm });
          const share = fee - base;
          // share is the smallest whole msat >= amount * ppm / 1e6.
          expect(share * 1_000_000n).toBeGreaterThanOrEqual(amount * BigInt(ppm));
          expect((share - 1n) * 1_000_000n).toBeLessThan(amount * BigInt(ppm));
        },
      ),
    );
  });

  it('rounds a fractional ppm up', () => {
    expect(maxFeeFor(1_000_000n, { baseMsat: 0n, ppm: 0.5 })).toBe(1n);
  });
});

describe('checkFeeLimit', () => {
  it('accepts the default and refuses negative, non-bigint or non-finite parts', () => {
    expect(checkFeeLimit(DEFAULT_FEE_LIMIT)).toBe(DEFAULT_FEE_LIMIT);
    expect(() => checkFeeLimit({ baseMsat: -1n, ppm: 0 })).toThrow(RangeError);
    expect(() => checkFeeLimit({ baseMsat: 1_000 as unknown as bigint, ppm: 0 })).toThrow(
      RangeError,
    );
    expect(() => checkFeeLimit({ baseMsat: 0n, ppm: Number.NaN })).toThrow(RangeError);
    expect(() => checkFeeLimit({ baseMsat: 0n, ppm: -1 })).toThrow(RangeError);
  });
});
