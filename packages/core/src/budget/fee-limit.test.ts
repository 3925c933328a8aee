import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WalletConfigError } from '../errors.js';
import { checkFeeLimit, DEFAULT_FEE_LIMIT, feeToReserve, maxFeeFor } from './fee-limit.js';

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

  it('is never below the minimum, the form of LNbits and Alby Hub fee reserves', () => {
    const reserve = { baseMsat: 0n, ppm: 10_000, minimumMsat: 2_000n };
    expect(maxFeeFor(10_000n, reserve)).toBe(2_000n);
    expect(maxFeeFor(1_000_000n, reserve)).toBe(10_000n);
    expect(() => checkFeeLimit({ ...reserve, minimumMsat: -1n })).toThrow(RangeError);
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

describe('feeToReserve', () => {
  const keepsToTheLimit = { name: 'lnd' };
  // phoenixd's rule: 4 sat + 0.4 %, whatever limit it is given.
  const phoenixd = {
    name: 'phoenixd',
    worstCaseFeeMsat: (amount: bigint) => 4_000n + (amount * 4_000n + 999_999n) / 1_000_000n,
  };

  it('item 5: reserves the wallet worst case when it is above the policy fee limit', () => {
    expect(feeToReserve(10_000n, DEFAULT_FEE_LIMIT, keepsToTheLimit)).toBe(1_100n);
    expect(feeToReserve(10_000n, DEFAULT_FEE_LIMIT, phoenixd)).toBe(4_040n);
    // A policy limit above the wallet's worst case stays: the larger one is reserved.
    expect(feeToReserve(10_000n, { baseMsat: 5_000n, ppm: 0 }, phoenixd)).toBe(5_000n);
  });

  it('item 5: is never below either the policy limit or the wallet worst case', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2_100_000_000_000_000_000n }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.bigInt({ min: 0n, max: 10_000_000n }),
        fc.bigInt({ min: 0n, max: 100_000_000n }),
        (amount, ppm, base, walletFee) => {
          const limit = { baseMsat: base, ppm };
          const reserved = feeToReserve(amount, limit, {
            name: 'w',
            worstCaseFeeMsat: () => walletFee,
          });
          expect(reserved >= maxFeeFor(amount, limit)).toBe(true);
          expect(reserved >= walletFee).toBe(true);
        },
      ),
    );
  });

  it('item 5: refuses to go on when the wallet cannot say its worst case', () => {
    for (const worstCaseFeeMsat of [
      () => -1n,
      () => 5 as unknown as bigint,
      () => undefined as unknown as bigint,
      () => {
        throw new Error('backend down');
      },
    ]) {
      expect(() =>
        feeToReserve(10_000n, DEFAULT_FEE_LIMIT, { name: 'odd', worstCaseFeeMsat }),
      ).toThrow(WalletConfigError);
    }
  });
});
