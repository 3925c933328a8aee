import type { Msat } from '../amount.js';

/** The most a payment may spend on routing: a fixed part plus a share of the amount, rounded up. */
export interface FeeLimit {
  baseMsat: Msat;
  /** Parts per million of the amount. */
  ppm: number;
}

/** 1 sat plus 1 %: enough for typical Lightning routes, reserved in the budget before paying. */
export const DEFAULT_FEE_LIMIT: FeeLimit = { baseMsat: 1_000n, ppm: 10_000 };

/** Never rounded down: the whole limit is reserved in the budget before paying. */
export function maxFeeFor(amountMsat: Msat, limit: FeeLimit = DEFAULT_FEE_LIMIT): Msat {
  const ppm = BigInt(Math.ceil(limit.ppm));
  return limit.baseMsat + (amountMsat * ppm + 999_999n) / 1_000_000n;
}

/** Throws a RangeError for a limit that is not a non-negative bigint base and a finite ppm >= 0. */
export function checkFeeLimit(limit: FeeLimit): FeeLimit {
  if (typeof limit?.baseMsat !== 'bigint' || limit.baseMsat < 0n) {
    throw new RangeError('feeLimit.baseMsat must be a non-negative bigint of millisatoshis');
  }
  if (typeof limit.ppm !== 'number' || !Number.isFinite(limit.ppm) || limit.ppm < 0) {
    throw new RangeError('feeLimit.ppm must be a finite number of parts per million, >= 0');
  }
  return limit;
}
