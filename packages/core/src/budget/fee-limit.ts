import { formatMsat, type Msat } from '../amount.js';
import { WalletConfigError } from '../errors.js';
import type { Wallet } from '../wallet.js';

/**
 * The most a payment may spend on fees: a fixed part plus a share of the amount, rounded up, and
 * never less than `minimumMsat` (the form of LNbits' and Alby Hub's fee reserves).
 */
export interface FeeLimit {
  baseMsat: Msat;
  /** Parts per million of the amount. */
  ppm: number;
  /** The limit is at least this; none when omitted. */
  minimumMsat?: Msat;
}

/** 1 sat plus 1 %: enough for typical Lightning routes, reserved in the budget before paying. */
export const DEFAULT_FEE_LIMIT: FeeLimit = { baseMsat: 1_000n, ppm: 10_000 };

/** Never rounded down: the whole limit is reserved in the budget before paying. */
export function maxFeeFor(amountMsat: Msat, limit: FeeLimit = DEFAULT_FEE_LIMIT): Msat {
  const ppm = BigInt(Math.ceil(limit.ppm));
  const fee = limit.baseMsat + (amountMsat * ppm + 999_999n) / 1_000_000n;
  const minimum = limit.minimumMsat ?? 0n;
  return fee > minimum ? fee : minimum;
}

/**
 * The fee to reserve before paying `amountMsat` through `wallet`: the policy's fee limit, or the
 * wallet's own worst case when that is higher (a backend that takes no fee limit may charge up
 * to it). Reserving the larger one keeps every budget level within its limit.
 */
export function feeToReserve(
  amountMsat: Msat,
  limit: FeeLimit,
  wallet: Pick<Wallet, 'name' | 'worstCaseFeeMsat'>,
): Msat {
  const policyFee = maxFeeFor(amountMsat, limit);
  if (wallet.worstCaseFeeMsat === undefined) return policyFee;
  let worstCase: unknown;
  try {
    worstCase = wallet.worstCaseFeeMsat(amountMsat);
  } catch {
    worstCase = undefined;
  }
  if (typeof worstCase !== 'bigint' || worstCase < 0n) {
    throw new WalletConfigError(
      `The wallet ${wallet.name} did not say how much it may charge in fees for ${formatMsat(amountMsat)}, so the payment cannot be kept within the budget. Nothing was paid.`,
    );
  }
  return worstCase > policyFee ? worstCase : policyFee;
}

/** Throws a RangeError for a limit that is not a non-negative bigint base and a finite ppm >= 0. */
export function checkFeeLimit(limit: FeeLimit): FeeLimit {
  if (typeof limit?.baseMsat !== 'bigint' || limit.baseMsat < 0n) {
    throw new RangeError('feeLimit.baseMsat must be a non-negative bigint of millisatoshis');
  }
  if (typeof limit.ppm !== 'number' || !Number.isFinite(limit.ppm) || limit.ppm < 0) {
    throw new RangeError('feeLimit.ppm must be a finite number of parts per million, >= 0');
  }
  if (
    limit.minimumMsat !== undefined &&
    (typeof limit.minimumMsat !== 'bigint' || limit.minimumMsat < 0n)
  ) {
    throw new RangeError('feeLimit.minimumMsat must be a non-negative bigint of millisatoshis');
  }
  return limit;
}
