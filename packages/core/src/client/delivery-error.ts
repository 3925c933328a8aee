import { formatMsat, type Msat } from '../amount.js';
import {
  type L402Error,
  PaidNotDeliveredError,
  RequestFailedError,
  RequestTimeoutError,
} from '../errors.js';

/** What a call paid. `paid` is true when this call made a new payment. */
export interface PaymentReceipt {
  /** Origin and path of the last request (no query). */
  url: string;
  paid: boolean;
  /** A token bought earlier (or by a concurrent call) opened the resource. */
  usedCachedToken: boolean;
  /** Invoice amount this call paid; 0 when it paid nothing. */
  amountMsat: Msat;
  /** Routing fee this call paid. */
  feeMsat: Msat;
  paymentHash?: string;
}

/**
 * The error for a request that failed once a token was in play: PAID_NOT_DELIVERED with the
 * amount when this call paid, otherwise a REQUEST_FAILED that says nothing was paid now. Both
 * say the token is kept, so trying again costs nothing. `problem` is a clause such as
 * "the response body was cut off (terminated)".
 */
export function deliveryError(
  receipt: PaymentReceipt,
  problem: string,
  details: { cause?: unknown; status?: number; timedOut?: boolean } = {},
): L402Error {
  const { timedOut, ...rest } = details;
  if (receipt.paid) {
    const spentMsat = receipt.amountMsat + receipt.feeMsat;
    const message = `Paid ${formatMsat(spentMsat)} for ${receipt.url}, but ${problem}; the token is kept, so trying again costs nothing.`;
    const paid = {
      url: receipt.url,
      amountMsat: spentMsat,
      feeMsat: receipt.feeMsat,
      paymentHash: receipt.paymentHash,
      ...rest,
    };
    return timedOut
      ? new RequestTimeoutError(message, { ...paid, paid: true })
      : new PaidNotDeliveredError(message, paid);
  }
  const token = receipt.usedCachedToken
    ? ' Nothing was paid by this call; the token bought earlier is kept, so trying again costs nothing.'
    : ' Nothing was paid.';
  const Failure = timedOut ? RequestTimeoutError : RequestFailedError;
  return new Failure(`For ${receipt.url}, ${problem}.${token}`, {
    url: receipt.url,
    paid: false,
    ...(receipt.paymentHash === undefined ? {} : { paymentHash: receipt.paymentHash }),
    ...(rest.cause === undefined ? {} : { cause: rest.cause }),
  });
}

/** "300 ms", "30 s": a deadline for a message. */
export function formatDuration(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${ms / 1_000} s`;
}
