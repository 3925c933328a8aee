import {
  InsufficientBalanceError,
  type L402Error,
  type L402ErrorDetails,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  RequestFailedError,
  WalletQuotaExceededError,
  WalletRateLimitedError,
  WalletUnauthorizedError,
  WalletUnsupportedError,
} from '@l402kit/core';
import type { RequestStakes } from './http-json.js';

type FailureClass = new (message: string, details?: L402ErrorDetails) => L402Error;

/** NIP-47 error codes that say for certain the wallet did not pay. */
const NIP47_FAILURES: Record<string, FailureClass> = {
  INSUFFICIENT_BALANCE: InsufficientBalanceError,
  QUOTA_EXCEEDED: WalletQuotaExceededError,
  RATE_LIMITED: WalletRateLimitedError,
  RESTRICTED: WalletUnauthorizedError,
  UNAUTHORIZED: WalletUnauthorizedError,
  NOT_IMPLEMENTED: WalletUnsupportedError,
  UNSUPPORTED_ENCRYPTION: WalletUnsupportedError,
  PAYMENT_FAILED: PaymentFailedError,
};

/**
 * Maps a NIP-47 error response to a typed error. Codes that do not say the payment failed
 * (INTERNAL, OTHER, NOT_FOUND, codes from newer NIP revisions) leave a payment's outcome
 * unknown, so it stays counted until a lookup settles it.
 */
export function nip47Error(
  walletName: string,
  code: string,
  message: string,
  stakes: RequestStakes,
): L402Error {
  const text = `${walletName}: the wallet answered ${code}: ${message}`;
  const paymentHash = stakes.kind === 'pay' ? stakes.paymentHash : undefined;
  const failure = NIP47_FAILURES[code];
  if (failure !== undefined) return new failure(text, { paymentHash });
  if (stakes.kind === 'read') return new RequestFailedError(text);
  return new PaymentOutcomeUnknownError(
    `${text}; this code does not say whether the payment failed, look it up to find out`,
    { paymentHash, amountMsat: stakes.amountMsat },
  );
}
