import { InvoiceMismatchError, MalformedMacaroonError, OpaqueTokenError } from '../errors.js';
import { type DecodedInvoice, decodeInvoice } from './invoice.js';
import { type DecodedMacaroon, decodeMacaroon } from './macaroon.js';

export interface CheckedChallenge {
  invoice: DecodedInvoice;
  macaroon: DecodedMacaroon;
}

/**
 * The check that makes paying a challenge's invoice buy its macaroon: decodes both (the
 * invoice's signature verified) and requires the payment hash in the macaroon's identifier
 * to be the invoice's. Throws `MalformedInvoiceError` for an unreadable invoice,
 * `OpaqueTokenError` when the token is not an L402 macaroon (nothing to check the invoice
 * against) and `InvoiceMismatchError` when the hashes differ. `url` (origin and path, no
 * query) only names the server in messages and errors.
 */
export function checkChallenge(
  challenge: { macaroon: string; invoice: string },
  url?: string,
): CheckedChallenge {
  const invoice = decodeInvoice(challenge.invoice);
  const server = url === undefined ? 'the server' : hostOf(url);
  let macaroon: DecodedMacaroon;
  try {
    macaroon = decodeMacaroon(challenge.macaroon);
  } catch (error) {
    if (!(error instanceof MalformedMacaroonError)) throw error;
    throw new OpaqueTokenError(
      `The token sent by ${server} is not an L402 macaroon (${error.message}), so the invoice cannot be checked against it: paying might not buy anything. Nothing was paid.`,
      { url, paymentHash: invoice.paymentHash, cause: error },
    );
  }
  if (macaroon.identifier.paymentHash !== invoice.paymentHash) {
    throw new InvoiceMismatchError(
      `The invoice's payment hash does not match the macaroon offered by ${server}; paying it would not unlock the resource. Nothing was paid.`,
      { url, paymentHash: invoice.paymentHash },
    );
  }
  return { invoice, macaroon };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the server';
  }
}
