import type { Msat } from './amount.js';

/** The most a payment may spend on routing: a fixed part plus a share of the amount, rounded up. */
export interface FeeLimit {
  baseMsat: Msat;
  /** Parts per million of the amount. */
  ppm: number;
}

/** 1 sat plus 1 %: enough for typical Lightning routes, reserved in the budget before paying. */
export const DEFAULT_FEE_LIMIT: FeeLimit = { baseMsat: 1_000n, ppm: 10_000 };

export function maxFeeFor(amountMsat: Msat, limit: FeeLimit = DEFAULT_FEE_LIMIT): Msat {
  const ppm = BigInt(Math.ceil(limit.ppm));
  return limit.baseMsat + (amountMsat * ppm + 999_999n) / 1_000_000n;
}
