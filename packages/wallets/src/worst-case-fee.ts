import {
  checkFeeLimit,
  type FeeLimit,
  maxFeeFor,
  type Msat,
  WalletConfigError,
} from '@l402kit/core';

/**
 * phoenixd pays every Lightning invoice through ACINQ's trampoline node for 4 sat + 0.4 % of the
 * amount (`trampolineFees` in phoenixd's LSP configuration); its API takes no fee limit.
 */
export const PHOENIXD_WORST_CASE_FEE: FeeLimit = { baseMsat: 4_000n, ppm: 4_000 };

/**
 * LNbits' default fee reserve, max(2 sat, 1 %) (`LNBITS_RESERVE_FEE_MIN` = 2000 msat,
 * `LNBITS_RESERVE_FEE_PERCENT` = 1.0): the fee limit LNbits hands its funding source.
 */
export const LNBITS_DEFAULT_FEE_RESERVE: FeeLimit = {
  baseMsat: 0n,
  ppm: 10_000,
  minimumMsat: 2_000n,
};

/**
 * NIP-47 `pay_invoice` takes no fee limit. Alby Hub reserves max(10 sat, 1 %) for routing fees
 * (`CalculateFeeReserveMsat` in its transactions service); other NWC wallets publish no rule.
 */
export const NWC_DEFAULT_WORST_CASE_FEE: FeeLimit = {
  baseMsat: 0n,
  ppm: 10_000,
  minimumMsat: 10_000n,
};

/** The wallet's `worstCaseFeeMsat` for a fee rule, after checking the rule. */
export function worstCaseFeeFor(rule: FeeLimit, where: string): (amountMsat: Msat) => Msat {
  try {
    checkFeeLimit(rule);
  } catch (error) {
    throw new WalletConfigError(`${where}: worstCaseFee: ${(error as Error).message}`);
  }
  const checked = { ...rule };
  return (amountMsat) => maxFeeFor(amountMsat, checked);
}
