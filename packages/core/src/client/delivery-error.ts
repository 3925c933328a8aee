import { formatMsat, type Msat } from '../amount.js';
import { type L402Error, PaidNotDeliveredError, RequestFailedError } from '../errors.js';

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
  details: { cause?: unknown; status?: number } = {},
): L402Error {
  if (receipt.paid) {
    const spentMsat = receipt.amountMsat + receipt.feeMsat;
    return new PaidNotDeliveredError(
      `Paid ${formatMsat(spentMsat)} for ${receipt.url}, but ${problem}; the token is kept, so trying again costs nothing.`,
      {
        url: receipt.url,
        amountMsat: spentMsat,
        feeMsat: receipt.feeMsat,
        paymentHash: receipt.paymentHash,
        ...details,
      },
    );
  }
  const token = receipt.usedCachedToken
    ? ' Nothing was paid by this call; the token bought earlier is kept, so trying again costs nothing.'
    : ' Nothing was paid.';
  return new RequestFailedError(`For ${receipt.url}, ${problem}.${token}`, {
    url: receipt.url,
    paid: false,
    ...(receipt.paymentHash === undefined ? {} : { paymentHash: receipt.paymentHash }),
    ...(details.cause === undefined ? {} : { cause: details.cause }),
  });
}
