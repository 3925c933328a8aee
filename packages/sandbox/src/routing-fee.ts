import type { Msat } from '@l402kit/core';

/** Lightning's fee formula, base + proportional part, rounded up so no fee is ever under-counted. */
export function routingFeeMsat(amountMsat: Msat, feeBaseMsat: Msat, feeRatePpm: number): Msat {
  const proportional = amountMsat * BigInt(feeRatePpm);
  return feeBaseMsat + (proportional + 999_999n) / 1_000_000n;
}
