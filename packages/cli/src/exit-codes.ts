import { L402Error, PaymentFailedError } from '@l402kit/core';

/**
 * What `l402kit` exits with. Stable: scripts branch on these. Codes 3-5 and 8 mean nothing
 * was paid; 6 means money moved or may have moved.
 */
export const EXIT_CODES = {
  ok: 0,
  /** An unexpected failure. */
  error: 1,
  /** Bad command line. */
  usage: 2,
  /** The price is above --max-sats or the budget: nothing was paid. */
  overBudget: 3,
  /** The operator's policy (hosts, https, private network) or approval refused: nothing paid. */
  refused: 4,
  /** The wallet could not pay (no route, no balance, unauthorized, ...): nothing was paid. */
  paymentFailed: 5,
  /** Paid (or maybe paid) but the content did not arrive: see `l402kit spend`. */
  paidNotDelivered: 6,
  /** The server could not be reached or the connection failed. */
  networkError: 7,
  /** The server's payment challenge is invalid (bad invoice, mismatch, expired): nothing paid. */
  badChallenge: 8,
  /** The wallet or token store is misconfigured or unreadable. */
  config: 9,
  /** With --fail: the server answered with an HTTP error (as curl -f). */
  httpError: 22,
} as const;

const byCode: Record<string, number> = {
  BUDGET_EXCEEDED: EXIT_CODES.overBudget,
  PRICE_ABOVE_CAP: EXIT_CODES.overBudget,
  POLICY_DENIED: EXIT_CODES.refused,
  APPROVAL_DENIED: EXIT_CODES.refused,
  BODY_NOT_REPLAYABLE: EXIT_CODES.refused,
  PAYMENT_LOOP_REFUSED: EXIT_CODES.refused,
  PAYMENT_OUTCOME_UNKNOWN: EXIT_CODES.paidNotDelivered,
  PAID_NOT_DELIVERED: EXIT_CODES.paidNotDelivered,
  PAYMENT_LOOP: EXIT_CODES.paidNotDelivered,
  PREIMAGE_MISMATCH: EXIT_CODES.paidNotDelivered,
  REQUEST_FAILED: EXIT_CODES.networkError,
  AMOUNTLESS_INVOICE: EXIT_CODES.badChallenge,
  INVOICE_EXPIRED: EXIT_CODES.badChallenge,
  INVOICE_MISMATCH: EXIT_CODES.badChallenge,
  OPAQUE_TOKEN: EXIT_CODES.badChallenge,
  NETWORK_MISMATCH: EXIT_CODES.badChallenge,
  WALLET_CONFIG: EXIT_CODES.config,
  TOKEN_STORE: EXIT_CODES.config,
  DATABASE_UNAVAILABLE: EXIT_CODES.config,
};

/** The exit code for an error thrown while fetching. */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof L402Error)) return EXIT_CODES.error;
  const known = byCode[error.code];
  if (known !== undefined) return known;
  if (error.code.startsWith('MALFORMED')) return EXIT_CODES.badChallenge;
  if (error instanceof PaymentFailedError) return EXIT_CODES.paymentFailed;
  return error.paid === false ? EXIT_CODES.error : EXIT_CODES.paidNotDelivered;
}
