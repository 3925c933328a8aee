import { type Msat, msatToSats } from '@l402kit/core';

/** A response in a shape both adapters can write: Fetch `Response` or Node `ServerResponse`. */
export interface PaywallReply {
  status: number;
  /** In order; a name may repeat (two `WWW-Authenticate` lines). */
  headers: Array<[string, string]>;
  body: string;
}

/** What the 402 body tells an agent: enough to decide whether to pay, nothing secret. */
export interface PaymentRequiredBody {
  error: 'payment_required';
  /** Rounded up for display; the invoice holds the exact amount. */
  price_sats: number;
  price_msat: string;
  description: string;
  service: string;
}

export function paymentRequiredReply(challenge: {
  macaroon: string;
  invoice: string;
  priceMsat: Msat;
  description: string;
  serviceName: string;
  offerLsat: boolean;
}): PaywallReply {
  const parameters = `macaroon="${challenge.macaroon}", invoice="${challenge.invoice}"`;
  const headers: Array<[string, string]> = [];
  // Aperture's order: the legacy LSAT line first, then L402.
  if (challenge.offerLsat) headers.push(['WWW-Authenticate', `LSAT ${parameters}`]);
  headers.push(['WWW-Authenticate', `L402 ${parameters}`]);
  const body: PaymentRequiredBody = {
    error: 'payment_required',
    price_sats: msatToSats(challenge.priceMsat, 'up'),
    price_msat: challenge.priceMsat.toString(),
    description: challenge.description,
    service: challenge.serviceName,
  };
  return jsonReply(402, body, headers);
}

/** The paywall could not issue a challenge (wallet down, price failed); says nothing internal. */
export function unavailableReply(error: 'invoice_unavailable' | 'price_unavailable'): PaywallReply {
  return jsonReply(error === 'invoice_unavailable' ? 503 : 500, { error });
}

/** A path routers could read as different resources (`..`, `//`, `\\`): neither priced nor served. */
export function invalidPathReply(): PaywallReply {
  return jsonReply(400, { error: 'invalid_path' });
}

function jsonReply(
  status: number,
  body: unknown,
  headers: Array<[string, string]> = [],
): PaywallReply {
  return {
    status,
    headers: [
      ...headers,
      ['Content-Type', 'application/json; charset=utf-8'],
      ['Cache-Control', 'no-store'],
    ],
    body: JSON.stringify(body),
  };
}

export function toFetchResponse(reply: PaywallReply): Response {
  const headers = new Headers();
  for (const [name, value] of reply.headers) headers.append(name, value);
  return new Response(reply.body, { status: reply.status, headers });
}
