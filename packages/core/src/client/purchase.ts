import { type Msat, msatToSats } from '../amount.js';
import { type Budget, type Reservation, reserveInBudgets } from '../budget/budget.js';
import { settleLeftOpen } from '../budget/settle-open-reservations.js';
import { macaroonExpiry } from '../protocol/caveats.js';
import { checkChallenge } from '../protocol/check-challenge.js';
import { formatCredential, isSendableToken } from '../protocol/credential.js';
import {
  AmountlessInvoiceError,
  InvoiceExpiredError,
  L402Error,
  NetworkMismatchError,
  OpaqueTokenError,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  PreimageMismatchError,
  PriceAboveCapError,
  RequestFailedError,
} from '../errors.js';
import { type FeeLimit, feeToReserve } from '../budget/fee-limit.js';
import { type DecodedInvoice, decodeInvoice, isInvoiceExpired } from '../protocol/invoice.js';
import type { DecodedMacaroon } from '../protocol/macaroon.js';
import {
  type L402Challenge,
  parseChallenges,
  parseL402Challenge,
  selectChallenge,
} from '../protocol/parse-challenge.js';
import { type Approval, authorizePayment } from './approval.js';
import type { Policy } from './policy.js';
import { isPreimageFor } from '../protocol/preimage.js';
import { redactUrl } from '../redact.js';
import type { SpendLog } from './spend-log.js';
import {
  type ClaimResult,
  type StoredToken,
  type TokenScope,
  type TokenStore,
  tokenTarget,
} from '../tokens/token-store.js';
import type { PaymentStatus, Wallet } from '../wallet.js';

/** What a purchase reports to `onEvent`. Never a secret. */
export type PurchaseEvent =
  | { type: 'payment'; url: string; amountMsat: Msat; feeMsat: Msat; paymentHash: string }
  | { type: 'payment-unknown'; url: string; amountMsat: Msat; paymentHash: string }
  | { type: 'pending-resolved'; url: string; paymentHash: string; outcome: 'paid' | 'failed' }
  /** Waiting up to `waitMs` for a payment another call or process recorded as pending. */
  | { type: 'pending-wait'; url: string; paymentHash: string; amountMsat: Msat; waitMs: number };

export interface PurchaseContext {
  wallet: Wallet;
  policy: Policy;
  tokenStore: TokenStore;
  scope: TokenScope;
  feeLimit: FeeLimit;
  paymentTimeoutMs: number;
  spendLog: SpendLog | undefined;
  emit: (event: PurchaseEvent) => void;
  /** Payments whose outcome was unknown in this process, by payment hash, to settle on lookup. */
  unresolved: Map<string, Reservation[]>;
  budgets: Budget[];
  /** This call's own price cap (lower than the policy's, or it changes nothing). */
  maxMsat: Msat | undefined;
  /** A person's approval given with this call, for a payment the policy says needs one. */
  approval: Approval | undefined;
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
  /** The fee that paying this price reserves: the fee limit, or the wallet worst case when higher. */
  maxFeeMsat?: Msat;
  /** The payee's node public key, from the invoice. */
  payee?: string;
  description?: string;
  invoiceExpiresAt?: Date;
}

/** What became of a payment recorded as pending. */
export interface PendingResolution {
  /** Origin and token scope, e.g. `https://api.example/v1/search`. */
  url: string;
  paymentHash: string;
  amountMsat: Msat;
  outcome: 'paid' | 'failed' | 'pending';
}

export interface ReadChallenge {
  challenge: L402Challenge;
  invoice: DecodedInvoice;
  /** Absent for an opaque token the policy allows from this host. */
  macaroon: DecodedMacaroon | undefined;
}

/**
 * Parses and cross-checks a challenge (`checkChallenge`); nothing here can pay. A token that
 * is not a macaroon passes only when `allowOpaqueToken` is true and it can be sent back.
 */
export function readChallenge(
  header: string,
  url: string,
  allowOpaqueToken = false,
): ReadChallenge {
  const challenge = parseL402Challenge(header);
  try {
    return { challenge, ...checkChallenge(challenge, url) };
  } catch (error) {
    if (!(error instanceof OpaqueTokenError) || !allowOpaqueToken) throw error;
    if (!isSendableToken(challenge.macaroon)) {
      throw new OpaqueTokenError(
        `The token sent by ${new URL(url).host} is not a macaroon and cannot be sent back in an Authorization header (it has spaces, ":" or other characters a token cannot hold). Nothing was paid.`,
        { url, paymentHash: error.paymentHash },
      );
    }
    // The operator accepted the risk for this host: the invoice is paid unchecked.
    return { challenge, invoice: decodeInvoice(challenge.invoice), macaroon: undefined };
  }
}

export function quoteChallenge(
  url: URL,
  response: Response,
  feeLimit: FeeLimit,
  wallet: Pick<Wallet, 'name' | 'worstCaseFeeMsat'>,
  allowOpaqueToken = false,
): PriceQuote {
  const base = { url: redactUrl(url), host: url.host, status: response.status };
  const header = response.headers.get('www-authenticate');
  if (response.status !== 402 || !header || !selectChallenge(parseChallenges(header))) return base;
  const { invoice } = readChallenge(header, base.url, allowOpaqueToken);
  if (invoice.amountMsat === undefined) {
    throw new AmountlessInvoiceError(
      `${url.host} sent an invoice without an amount; l402kit never pays those.`,
      { url: base.url, paymentHash: invoice.paymentHash },
    );
  }
  return {
    ...base,
    priceMsat: invoice.amountMsat,
    priceSats: msatToSats(invoice.amountMsat),
    maxFeeMsat: feeToReserve(invoice.amountMsat, feeLimit, wallet),
    payee: invoice.payee,
    ...(invoice.description === undefined ? {} : { description: invoice.description }),
    invoiceExpiresAt: invoice.expiresAt,
  };
}

// Stores hand out the same frozen token object on every find, so its credential is built once.
const credentials = new WeakMap<StoredToken, string>();

/** The `Authorization` value for a paid token. */
export function credentialOf(token: StoredToken): string {
  let credential = credentials.get(token);
  if (credential === undefined) {
    if (!token.preimage) throw new RangeError('a pending token has no preimage yet');
    credential = formatCredential({
      scheme: token.scheme,
      macaroon: token.macaroon,
      preimage: token.preimage,
    });
    credentials.set(token, credential);
  }
  return credential;
}

/**
 * Buys the token a 402 challenge offers: checks the invoice, asks the policy, claims the
 * resource in the store with a pending record, reserves in every budget, pays once, verifies
 * the preimage and stores the token. `paid` is false when no payment was made here: an
 * earlier payment of unknown outcome turned out to have gone through, or another process
 * sharing the store bought the token meanwhile.
 */
export async function buyToken(
  context: PurchaseContext,
  url: URL,
  method: string,
  header: string,
): Promise<{ token: StoredToken; paid: boolean }> {
  const target = tokenTarget(url, method, context.scope);
  // An earlier payment for this resource may be in flight elsewhere or have an unknown
  // outcome (timeout, crash).
  const earlier = await context.tokenStore.get(target.key);
  if (earlier?.state === 'pending') {
    const token = await awaitPending(context, earlier, redactUrl(url));
    if (token) return { token, paid: false };
  }
  const offer = await checkOffer(context, url, method, header);
  const claim = await claimAndReserve(context, target, offer);
  if ('token' in claim) return { token: claim.token, paid: false };
  const result = await payOnce(context, offer, claim);
  return { token: await recordPayment(context, offer, claim, result), paid: true };
}

/** A challenge whose invoice passed every check and the policy: what is about to be paid. */
interface CheckedOffer {
  challenge: L402Challenge;
  invoice: DecodedInvoice & { amountMsat: Msat };
  maxFeeMsat: Msat;
  /** The macaroon's own expiry, when it states one. */
  expiresAt: number | undefined;
  host: string;
  /** Origin and path, without userinfo or query. */
  displayUrl: string;
}

/** This process's pending record, claimed in the store, and its budget reservations. */
interface ClaimedPayment {
  pending: StoredToken;
  reservations: Reservation[];
}

/**
 * Reads the challenge and refuses an invoice that must not be paid (no amount, expired, other
 * network, above the policy's or this call's cap), then asks for approval when the policy
 * wants one. Nothing here pays.
 */
async function checkOffer(
  context: PurchaseContext,
  url: URL,
  method: string,
  header: string,
): Promise<CheckedOffer> {
  const displayUrl = redactUrl(url);
  const { challenge, invoice, macaroon } = readChallenge(
    header,
    displayUrl,
    context.policy.allowsOpaqueToken?.(url.hostname) ?? false,
  );
  const amountMsat = refuseUnpayable(context, url, displayUrl, invoice);
  const maxFeeMsat = feeToReserve(amountMsat, context.feeLimit, context.wallet);
  // The approval is checked against the invoice met now, not the one that was quoted.
  await authorizePayment(context.policy, context.approval, {
    url: url.href,
    method,
    host: url.host,
    amountMsat,
    maxFeeMsat,
    payee: invoice.payee,
    description: invoice.description,
  });
  return {
    challenge,
    invoice: { ...invoice, amountMsat },
    maxFeeMsat,
    expiresAt: macaroon ? macaroonExpiry(macaroon.caveats)?.getTime() : undefined,
    host: url.host,
    displayUrl,
  };
}

/** The invoice's amount, unless the invoice cannot or may not be paid by this call. */
function refuseUnpayable(
  context: PurchaseContext,
  url: URL,
  displayUrl: string,
  invoice: DecodedInvoice,
): Msat {
  const amountMsat = invoice.amountMsat;
  const refusal = { url: displayUrl, paymentHash: invoice.paymentHash };
  if (amountMsat === undefined) {
    throw new AmountlessInvoiceError(
      `${url.host} sent an invoice without an amount; l402kit never pays those. Nothing was paid.`,
      refusal,
    );
  }
  refuseIfExpired(invoice, url.host, displayUrl);
  if (context.wallet.network && context.wallet.network !== invoice.network) {
    throw new NetworkMismatchError(
      `The invoice from ${url.host} is for ${invoice.network} but the wallet pays on ${context.wallet.network}. Nothing was paid.`,
      refusal,
    );
  }
  context.policy.checkPrice({ url: displayUrl, host: url.host, amountMsat });
  if (context.maxMsat !== undefined && amountMsat > context.maxMsat) {
    throw new PriceAboveCapError(
      `${url.host} asks ${msatToSats(amountMsat)} sats, above this call's cap of ${msatToSats(context.maxMsat, 'exact')} sats. Nothing was paid.`,
      refusal,
    );
  }
  return amountMsat;
}

function refuseIfExpired(invoice: DecodedInvoice, host: string, displayUrl: string): void {
  if (isInvoiceExpired(invoice)) {
    throw new InvoiceExpiredError(
      `The invoice from ${host} expired at ${invoice.expiresAt.toISOString()}. Nothing was paid.`,
      { url: displayUrl, paymentHash: invoice.paymentHash },
    );
  }
}

/**
 * Claims the resource in the store with a pending record (so another process sharing it
 * cannot pay at once too), then reserves in every budget. Returns the other process's token
 * instead when it bought one meanwhile. On any failure nothing stays claimed or reserved.
 */
async function claimAndReserve(
  context: PurchaseContext,
  target: ReturnType<typeof tokenTarget>,
  offer: CheckedOffer,
): Promise<ClaimedPayment | { token: StoredToken }> {
  let pending: StoredToken;
  let reservations: Reservation[] = [];
  // Whether the store may hold our pending record, to be removed if we do not pay after all.
  let claimed = false;
  try {
    for (;;) {
      throwIfAborted(context.signal, offer.displayUrl);
      // Again, as approval or waiting for another process's payment may have taken a while.
      refuseIfExpired(offer.invoice, offer.host, offer.displayUrl);
      pending = pendingRecord(target, offer);
      // Recorded before paying, so that neither a timeout nor a crash can forget the payment,
      // and claimed, so that another process sharing the store cannot pay for it at once too.
      claimed = true;
      const claim = await claimToken(context.tokenStore, pending);
      claimed = claim.claimed;
      if (claim.claimed) break;
      // Another process got there first: use its token, or wait for its payment and, if that
      // fails or vanishes, claim again.
      const other =
        claim.existing.state === 'paid'
          ? claim.existing
          : await awaitPending(context, claim.existing, offer.displayUrl);
      if (other) return { token: other };
    }
    // Reserved only once this process is the one to pay.
    reservations = await reserveAll(context.budgets, {
      amountMsat: offer.invoice.amountMsat,
      maxFeeMsat: offer.maxFeeMsat,
      host: offer.host,
      description: offer.invoice.description,
      url: offer.displayUrl,
      paymentHash: offer.invoice.paymentHash,
    });
    throwIfAborted(context.signal, offer.displayUrl);
  } catch (error) {
    await settleAll(reservations, (reservation) => reservation.release());
    if (claimed) await dropToken(context.tokenStore, pending!).catch(() => {});
    throw error;
  }
  return { pending, reservations };
}

/** The record kept while the payment is made: the token as the server sent it, no preimage yet. */
function pendingRecord(target: ReturnType<typeof tokenTarget>, offer: CheckedOffer): StoredToken {
  return {
    ...target,
    scheme: offer.challenge.scheme,
    // As the server sent it: some servers compare the credential's macaroon byte for byte.
    macaroon: offer.challenge.macaroon,
    paymentHash: offer.invoice.paymentHash,
    invoice: offer.invoice.invoice,
    amountMsat: offer.invoice.amountMsat,
    feeMsat: 0n,
    state: 'pending',
    createdAt: Date.now(),
    ...(offer.expiresAt === undefined ? {} : { expiresAt: offer.expiresAt }),
  };
}

/**
 * Asks the wallet to pay, once. A failed payment is released and forgotten; anything else that
 * keeps the wallet from confirming (timeout, abort, error) may have paid, so it stays counted.
 */
async function payOnce(
  context: PurchaseContext,
  offer: CheckedOffer,
  claim: ClaimedPayment,
): Promise<{ preimage: string; feeMsat: Msat }> {
  const { invoice } = offer;
  // Async, so that a wallet throwing synchronously still gives a rejected promise.
  const paying = (async () =>
    context.wallet.payInvoice({
      invoice: invoice.invoice,
      amountMsat: invoice.amountMsat,
      paymentHash: invoice.paymentHash,
      maxFeeMsat: offer.maxFeeMsat,
      timeoutMs: context.paymentTimeoutMs,
      ...(context.signal === undefined ? {} : { signal: context.signal }),
    }))();
  try {
    return await untilDeadline(paying, context.paymentTimeoutMs + WALLET_GRACE_MS, context.signal);
  } catch (error) {
    if (error instanceof PaymentFailedError) {
      await settleAll(claim.reservations, (reservation) => reservation.release());
      await dropToken(context.tokenStore, claim.pending);
      await context.spendLog?.append(logEntry(offer.displayUrl, claim.pending, 0n, 'failed'));
      throw error;
    }
    throw await outcomeUnknown(context, offer, claim, paying, error);
  }
}

/**
 * Keeps a payment the wallet did not confirm counted as spent and remembered until the wallet
 * says what became of it, and returns the error that says so.
 */
async function outcomeUnknown(
  context: PurchaseContext,
  offer: CheckedOffer,
  { pending, reservations }: ClaimedPayment,
  paying: Promise<{ preimage: string; feeMsat: Msat }>,
  error: unknown,
): Promise<PaymentOutcomeUnknownError> {
  const { invoice } = offer;
  await settleAll(reservations, (reservation) => reservation.markUnknown());
  context.unresolved.set(invoice.paymentHash, reservations);
  if (error instanceof WalletSilentError) {
    // The wallet may still answer; if it does, its answer settles the payment.
    paying
      .then(
        (late) => applyStatus(context, pending, { state: 'succeeded', ...late }),
        (late: unknown) =>
          late instanceof PaymentFailedError
            ? applyStatus(context, pending, { state: 'failed' })
            : undefined,
      )
      .catch(() => {});
  }
  await context.spendLog?.append(logEntry(offer.displayUrl, pending, 0n, 'unknown'));
  context.emit({
    type: 'payment-unknown',
    url: offer.displayUrl,
    amountMsat: invoice.amountMsat,
    paymentHash: invoice.paymentHash,
  });
  return new PaymentOutcomeUnknownError(
    `The wallet did not confirm the payment of ${msatToSats(invoice.amountMsat)} sats to ${offer.host} (${describe(error)}). It stays counted as spent, and this resource will not be paid again until the wallet reports the outcome.`,
    {
      url: offer.displayUrl,
      amountMsat: invoice.amountMsat + offer.maxFeeMsat,
      paymentHash: invoice.paymentHash,
      cause: error,
    },
  );
}

/**
 * Charges the budgets what the wallet paid, checks the preimage it returned and stores the
 * token. A preimage that does not match leaves the pending record for a later lookup.
 */
async function recordPayment(
  context: PurchaseContext,
  offer: CheckedOffer,
  { pending, reservations }: ClaimedPayment,
  result: { preimage: string; feeMsat: Msat },
): Promise<StoredToken> {
  const { invoice, displayUrl } = offer;
  await settleAll(reservations, (reservation) => reservation.commit(result.feeMsat));
  if (!isPreimageFor(result.preimage, invoice.paymentHash)) {
    await context.spendLog?.append(
      logEntry(displayUrl, pending, result.feeMsat, 'preimage-mismatch'),
    );
    throw new PreimageMismatchError(
      `The wallet reported paying ${offer.host} but returned a preimage that does not match the invoice; the payment is counted as spent.`,
      {
        url: displayUrl,
        amountMsat: invoice.amountMsat + result.feeMsat,
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
  await storePaid(context, token);
  await context.spendLog?.append(logEntry(displayUrl, token, result.feeMsat, 'paid'));
  context.emit({
    type: 'payment',
    url: displayUrl,
    amountMsat: invoice.amountMsat,
    feeMsat: result.feeMsat,
    paymentHash: invoice.paymentHash,
  });
  return storedVersion(context.tokenStore, token);
}

/** Asks the wallet what became of a payment recorded as pending, and records the answer. */
export async function resolvePending(
  context: SettleContext,
  pending: StoredToken,
): Promise<PendingResolution> {
  return (await settlePending(context, pending)).resolution;
}

async function settlePending(
  context: SettleContext,
  pending: StoredToken,
): Promise<{ resolution: PendingResolution; token?: StoredToken }> {
  const status = context.wallet.lookupPayment
    ? await context.wallet
        .lookupPayment(pending.paymentHash)
        .catch((): PaymentStatus => ({ state: 'unknown' }))
    : ({ state: 'unknown' } as const);
  return applyStatus(context, pending, status);
}

type SettleContext = Pick<
  PurchaseContext,
  'wallet' | 'tokenStore' | 'unresolved' | 'spendLog' | 'emit'
> & {
  /** Whose durable ledgers may hold the reservation of a process that died meanwhile. */
  budgets?: Budget[];
};

/** Records what the wallet said about a pending payment: paid, failed, or still unknown. */
async function applyStatus(
  context: SettleContext,
  pending: StoredToken,
  status: PaymentStatus,
): Promise<{ resolution: PendingResolution; token?: StoredToken }> {
  const url = `${pending.origin}${pending.scope.replace(/^prefix:/, '')}`;
  const resolution = (outcome: PendingResolution['outcome']): PendingResolution => ({
    url,
    paymentHash: pending.paymentHash,
    amountMsat: pending.amountMsat,
    outcome,
  });
  // Reservations exist only in the process that paid; after a restart the budget never held them.
  const reservations = context.unresolved.get(pending.paymentHash) ?? [];
  if (status.state === 'succeeded' && isPreimageFor(status.preimage, pending.paymentHash)) {
    await settleAll(reservations, (reservation) => reservation.commit(status.feeMsat));
    context.unresolved.delete(pending.paymentHash);
    // Reserved by a process that died before it knew: charged here, once.
    await settleLeftOpen(context.budgets ?? [], pending.paymentHash, {
      paid: true,
      feeMsat: status.feeMsat,
    });
    const token: StoredToken = {
      ...pending,
      preimage: status.preimage.toLowerCase(),
      feeMsat: status.feeMsat,
      state: 'paid',
    };
    await storePaid(context, token);
    await context.spendLog?.append(logEntry(url, token, status.feeMsat, 'resolved-paid'));
    context.emit({
      type: 'pending-resolved',
      url,
      paymentHash: pending.paymentHash,
      outcome: 'paid',
    });
    return {
      resolution: resolution('paid'),
      token: await storedVersion(context.tokenStore, token),
    };
  }
  if (status.state === 'failed') {
    await settleAll(reservations, (reservation) => reservation.release());
    context.unresolved.delete(pending.paymentHash);
    await settleLeftOpen(context.budgets ?? [], pending.paymentHash, { paid: false });
    await dropToken(context.tokenStore, pending);
    await context.spendLog?.append(logEntry(url, pending, 0n, 'resolved-failed'));
    context.emit({
      type: 'pending-resolved',
      url,
      paymentHash: pending.paymentHash,
      outcome: 'failed',
    });
    return { resolution: resolution('failed') };
  }
  return { resolution: resolution('pending') };
}

/** How often a call waiting for another process's payment looks at the store again. */
const POLL_MS = 25;

/**
 * What became of a payment another call recorded as pending: its token if it was paid;
 * undefined if it failed, or its record was removed or replaced (this call may claim the
 * resource); a PaymentOutcomeUnknownError if the wallet still cannot tell. The wallet is asked
 * first and last; in between, a payment another process may still be making (recorded less
 * than the payment timeout ago, and not one this process gave up on) is waited for.
 */
async function awaitPending(
  context: PurchaseContext,
  pending: StoredToken,
  displayUrl: string,
): Promise<StoredToken | undefined> {
  const deadline = context.unresolved.has(pending.paymentHash)
    ? 0
    : Math.min(pending.createdAt, Date.now()) + context.paymentTimeoutMs + WALLET_GRACE_MS;
  for (let asked = 0; ; asked++) {
    const { resolution, token } = await settlePending(context, pending);
    if (token) return token;
    if (resolution.outcome === 'failed') return undefined;
    if (asked > 0 || Date.now() >= deadline) break;
    context.emit({
      type: 'pending-wait',
      url: displayUrl,
      paymentHash: pending.paymentHash,
      amountMsat: pending.amountMsat,
      waitMs: deadline - Date.now(),
    });
    while (Date.now() < deadline) {
      await pause(POLL_MS, context.signal);
      throwIfAborted(context.signal, displayUrl);
      const current = await context.tokenStore.get(pending.key);
      if (current?.state !== 'pending' || current.paymentHash !== pending.paymentHash) {
        return current?.state === 'paid' ? current : undefined;
      }
    }
  }
  throw new PaymentOutcomeUnknownError(
    `An earlier payment of ${msatToSats(pending.amountMsat)} sats for ${displayUrl} has no known outcome yet; l402kit will not pay for it again until the wallet reports whether it went through.`,
    { url: displayUrl, amountMsat: pending.amountMsat, paymentHash: pending.paymentHash },
  );
}

/** `store.claim`, or `put` for a store without one (safe within one process only). */
async function claimToken(store: TokenStore, token: StoredToken): Promise<ClaimResult> {
  if (store.claim) return store.claim(token);
  await store.put(token);
  return { claimed: true };
}

/** Deletes `token`'s record unless its key already holds another payment's. */
export async function dropToken(store: TokenStore, token: StoredToken): Promise<void> {
  const current = await store.get(token.key);
  if (current?.paymentHash === token.paymentHash) await store.delete(token.key);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Stores a paid token. If the store fails the money has still moved: the pending record
 * left behind makes a later call resolve it through the wallet instead of paying again.
 */
async function storePaid(context: Pick<PurchaseContext, 'tokenStore'>, token: StoredToken) {
  try {
    await context.tokenStore.put(token);
  } catch {}
}

/** The store's own (frozen, redacting) copy when it has one, so credentials are cached per token. */
async function storedVersion(store: TokenStore, token: StoredToken): Promise<StoredToken> {
  const stored = await store.get(token.key).catch(() => undefined);
  return stored?.state === 'paid' && stored.paymentHash === token.paymentHash ? stored : token;
}

/** Reserves at every budget or at none. */
export async function reserveAll(
  budgets: Budget[],
  request: Parameters<Budget['reserve']>[0],
): Promise<Reservation[]> {
  if (budgets.length === 0) return [];
  // One reservation across every level of every budget, each level charged once.
  return [await reserveInBudgets(budgets, request)];
}

/**
 * Applies one settlement to every reservation and never rejects: whether money moved is
 * decided by the wallet, not the books, so a ledger that cannot be written (a locked
 * database) must not turn a payment into an error that says otherwise. A reservation left
 * unsettled stays counted in full, and is settled through the wallet by a later process.
 */
export async function settleAll(
  reservations: Reservation[],
  settle: (reservation: Reservation) => Promise<boolean>,
): Promise<void> {
  await Promise.allSettled(reservations.map(settle));
}

/** Extra time a wallet gets past its own timeout before l402kit stops waiting for it. */
const WALLET_GRACE_MS = 1_000;

/** The wallet neither answered in time nor stopped when asked to. */
class WalletSilentError extends Error {}

/** `promise`, unless `timeoutMs` pass or `signal` aborts first: then a WalletSilentError. */
function untilDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const silent = (why: string) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(new WalletSilentError(why));
    };
    const onAbort = () => silent('the request was aborted while the wallet was paying');
    const timer = setTimeout(
      () => silent(`the wallet did not answer within ${timeoutMs} ms`),
      Math.min(timeoutMs, 2 ** 31 - 1),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function throwIfAborted(signal: AbortSignal | undefined, url: string): void {
  if (signal?.aborted) {
    throw new RequestFailedError(
      `The request to ${url} was aborted before paying. Nothing was paid.`,
      {
        url,
        cause: signal.reason,
      },
    );
  }
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
