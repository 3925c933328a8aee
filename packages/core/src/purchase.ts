import { type Msat, msatToSats, satsToMsat } from './amount.js';
import type { Budget, Reservation } from './budget.js';
import { macaroonExpiry } from './caveats.js';
import {
  AmountlessInvoiceError,
  InvoiceExpiredError,
  InvoiceMismatchError,
  L402Error,
  NetworkMismatchError,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  PreimageMismatchError,
  PriceAboveCapError,
} from './errors.js';
import { type FeeLimit, maxFeeFor } from './fee-limit.js';
import { type DecodedInvoice, decodeInvoice, isInvoiceExpired } from './invoice.js';
import { type DecodedMacaroon, decodeMacaroon } from './macaroon.js';
import {
  type L402Challenge,
  parseChallenges,
  parseL402Challenge,
  selectChallenge,
} from './parse-challenge.js';
import type { Policy } from './policy.js';
import { isPreimageFor } from './preimage.js';
import type { SpendLog } from './spend-log.js';
import { type StoredToken, type TokenScope, type TokenStore, tokenTarget } from './token-store.js';
import type { Wallet } from './wallet.js';

export interface PurchaseContext {
  wallet: Wallet;
  policy: Policy;
  tokenStore: TokenStore;
  scope: TokenScope;
  feeLimit: FeeLimit;
  paymentTimeoutMs: number;
  spendLog: SpendLog | undefined;
  emit: (event: {
    type: 'payment';
    url: string;
    amountMsat: Msat;
    feeMsat: Msat;
    paymentHash: string;
  }) => void;
  /** Payments whose outcome was unknown in this process, by payment hash, to settle on lookup. */
  unresolved: Map<string, Reservation[]>;
  budgets: Budget[];
  maxSats: number | undefined;
  signal: AbortSignal | undefined;
}

/** The price of a resource as its 402 challenge states it. */
export interface PriceQuote {
  url: string;
  host: string;
  /** HTTP status of the unpaid request; a price is present only for an L402 402. */
  status: number;
  priceMsat?: Msat;
  /** Rounded up, for display. */
  priceSats?: number;
  description?: string;
  invoiceExpiresAt?: Date;
}

export interface ReadChallenge {
  challenge: L402Challenge;
  invoice: DecodedInvoice;
  macaroon: DecodedMacaroon;
}

/** Parses and cross-checks a challenge; nothing here can pay. */
export function readChallenge(header: string, url: string): ReadChallenge {
  const challenge = parseL402Challenge(header);
  const invoice = decodeInvoice(challenge.invoice);
  const macaroon = decodeMacaroon(challenge.macaroon);
  if (macaroon.identifier.paymentHash !== invoice.paymentHash) {
    throw new InvoiceMismatchError(
      `The invoice's payment hash does not match the macaroon offered by ${new URL(url).host}; paying it would not unlock the resource. Nothing was paid.`,
      { url, paymentHash: invoice.paymentHash },
    );
  }
  return { challenge, invoice, macaroon };
}

export function quoteChallenge(url: URL, response: Response): PriceQuote {
  const base = { url: `${url.origin}${url.pathname}`, host: url.host, status: response.status };
  const header = response.headers.get('www-authenticate');
  if (response.status !== 402 || !header || !selectChallenge(parseChallenges(header))) return base;
  const { invoice } = readChallenge(header, base.url);
  if (invoice.amountMsat === undefined) {
    throw new AmountlessInvoiceError(
      `${url.host} sent an invoice without an amount; l402kit never pays those.`,
      {
        url: base.url,
      },
    );
  }
  return {
    ...base,
    priceMsat: invoice.amountMsat,
    priceSats: msatToSats(invoice.amountMsat),
    description: invoice.description,
    invoiceExpiresAt: invoice.expiresAt,
  };
}

/**
 * Buys the token a 402 challenge offers: checks the invoice, asks the policy and every budget,
 * records the payment as pending, pays once, verifies the preimage and stores the token.
 */
export async function buyToken(
  context: PurchaseContext,
  url: URL,
  method: string,
  header: string,
): Promise<StoredToken> {
  const target = tokenTarget(url, method, context.scope);
  const key = target.key;
  const displayUrl = `${url.origin}${url.pathname}`;

  // An earlier payment for this resource may have an unknown outcome (timeout, crash).
  const earlier = await context.tokenStore.get(key);
  if (earlier?.state === 'pending') {
    const resolved = await resolvePending(context, earlier);
    if (resolved) return resolved;
  }

  const { challenge, invoice, macaroon } = readChallenge(header, displayUrl);
  const amountMsat = invoice.amountMsat;
  if (amountMsat === undefined) {
    throw new AmountlessInvoiceError(
      `${url.host} sent an invoice without an amount; l402kit never pays those. Nothing was paid.`,
      { url: displayUrl, paymentHash: invoice.paymentHash },
    );
  }
  if (isInvoiceExpired(invoice)) {
    throw new InvoiceExpiredError(
      `The invoice from ${url.host} expired at ${invoice.expiresAt.toISOString()}. Nothing was paid.`,
      { url: displayUrl, paymentHash: invoice.paymentHash },
    );
  }
  if (context.wallet.network && context.wallet.network !== invoice.network) {
    throw new NetworkMismatchError(
      `The invoice from ${url.host} is for ${invoice.network} but the wallet pays on ${context.wallet.network}. Nothing was paid.`,
      { url: displayUrl, paymentHash: invoice.paymentHash },
    );
  }
  context.policy.checkPrice({ url: displayUrl, host: url.host, amountMsat });
  if (context.maxSats !== undefined && amountMsat > satsToMsat(context.maxSats)) {
    throw new PriceAboveCapError(
      `${url.host} asks ${msatToSats(amountMsat)} sats, above this call's cap of ${context.maxSats} sats. Nothing was paid.`,
      { url: displayUrl, paymentHash: invoice.paymentHash },
    );
  }
  const maxFeeMsat = maxFeeFor(amountMsat, context.feeLimit);
  await context.policy.approve({
    url: displayUrl,
    host: url.host,
    amountMsat,
    maxFeeMsat,
    description: invoice.description,
  });
  const reservations = reserveAll(context.budgets, {
    amountMsat,
    maxFeeMsat,
    host: url.host,
    description: invoice.description,
    url: displayUrl,
  });

  const pending: StoredToken = {
    ...target,
    scheme: challenge.scheme,
    macaroon: macaroon.base64,
    paymentHash: invoice.paymentHash,
    invoice: invoice.invoice,
    amountMsat,
    feeMsat: 0n,
    state: 'pending',
    createdAt: Date.now(),
    expiresAt: macaroonExpiry(macaroon.caveats)?.getTime(),
  };
  try {
    await context.tokenStore.put(pending);
  } catch (error) {
    for (const reservation of reservations) reservation.release();
    throw error;
  }

  let result: { preimage: string; feeMsat: Msat };
  try {
    result = await context.wallet.payInvoice({
      invoice: invoice.invoice,
      amountMsat,
      paymentHash: invoice.paymentHash,
      maxFeeMsat,
      timeoutMs: context.paymentTimeoutMs,
      signal: context.signal,
    });
  } catch (error) {
    if (error instanceof PaymentFailedError) {
      for (const reservation of reservations) reservation.release();
      await context.tokenStore.delete(key);
      await context.spendLog?.append(logEntry(displayUrl, pending, 0n, 'failed'));
      throw error;
    }
    // Anything else may have paid: keep it counted and remember it until the wallet says.
    for (const reservation of reservations) reservation.markUnknown();
    context.unresolved.set(invoice.paymentHash, reservations);
    await context.spendLog?.append(logEntry(displayUrl, pending, 0n, 'unknown'));
    throw new PaymentOutcomeUnknownError(
      `The wallet did not confirm the payment of ${msatToSats(amountMsat)} sats to ${url.host} (${describe(error)}). It stays counted as spent, and this resource will not be paid again until the wallet reports the outcome.`,
      {
        url: displayUrl,
        amountMsat: amountMsat + maxFeeMsat,
        paymentHash: invoice.paymentHash,
        cause: error,
      },
    );
  }

  for (const reservation of reservations) reservation.commit(result.feeMsat);
  if (!isPreimageFor(result.preimage, invoice.paymentHash)) {
    await context.tokenStore.delete(key);
    await context.spendLog?.append(
      logEntry(displayUrl, pending, result.feeMsat, 'preimage-mismatch'),
    );
    throw new PreimageMismatchError(
      `The wallet reported paying ${url.host} but returned a preimage that does not match the invoice; the payment is counted as spent.`,
      {
        url: displayUrl,
        amountMsat: amountMsat + result.feeMsat,
        feeMsat: result.feeMsat,
        paymentHash: invoice.paymentHash,
      },
    );
  }
  const token: StoredToken = {
    ...pending,
    preimage: result.preimage.toLowerCase(),
    feeMsat: result.feeMsat,
    state: 'paid',
  };
  await context.tokenStore.put(token);
  await context.spendLog?.append(logEntry(displayUrl, token, result.feeMsat, 'paid'));
  context.emit({
    type: 'payment',
    url: displayUrl,
    amountMsat,
    feeMsat: result.feeMsat,
    paymentHash: invoice.paymentHash,
  });
  return token;
}

/**
 * Asks the wallet what became of a payment recorded as pending. Returns the paid token,
 * `undefined` when it surely failed (the record is dropped), or throws while it is unknown.
 */
export async function resolvePending(
  context: Pick<PurchaseContext, 'wallet' | 'tokenStore' | 'unresolved'>,
  pending: StoredToken,
): Promise<StoredToken | undefined> {
  const status = context.wallet.lookupPayment
    ? await context.wallet
        .lookupPayment(pending.paymentHash)
        .catch(() => ({ state: 'unknown' as const }))
    : { state: 'unknown' as const };
  const reservations = context.unresolved.get(pending.paymentHash) ?? [];
  if (status.state === 'succeeded' && isPreimageFor(status.preimage, pending.paymentHash)) {
    for (const reservation of reservations) reservation.commit(status.feeMsat);
    context.unresolved.delete(pending.paymentHash);
    const token: StoredToken = {
      ...pending,
      preimage: status.preimage.toLowerCase(),
      feeMsat: status.feeMsat,
      state: 'paid',
    };
    await context.tokenStore.put(token);
    return token;
  }
  if (status.state === 'failed') {
    for (const reservation of reservations) reservation.release();
    context.unresolved.delete(pending.paymentHash);
    await context.tokenStore.delete(pending.key);
    return undefined;
  }
  throw new PaymentOutcomeUnknownError(
    `An earlier payment of ${msatToSats(pending.amountMsat)} sats for ${pending.origin} has no known outcome yet; l402kit will not pay for it again until the wallet reports whether it went through.`,
    { url: pending.origin, amountMsat: pending.amountMsat, paymentHash: pending.paymentHash },
  );
}

/** Reserves at every budget or at none. */
export function reserveAll(budgets: Budget[], request: Parameters<Budget['reserve']>[0]): Reservation[] {
  const reservations: Reservation[] = [];
  try {
    for (const budget of budgets) reservations.push(budget.reserve(request));
  } catch (error) {
    for (const reservation of reservations) reservation.release();
    throw error;
  }
  return reservations;
}

function logEntry(url: string, token: StoredToken, feeMsat: Msat, outcome: string) {
  return {
    time: new Date().toISOString(),
    url,
    amountMsat: token.amountMsat,
    feeMsat,
    paymentHash: token.paymentHash,
    outcome,
  };
}

function describe(error: unknown): string {
  if (error instanceof L402Error) return error.code;
  return error instanceof Error ? error.message : String(error);
}
