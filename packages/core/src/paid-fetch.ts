import type { Msat } from './amount.js';
import type { Budget } from './budget.js';
import { createBudget } from './budget.js';
import {
  L402Error,
  PaidNotDeliveredError,
  PaymentLoopError,
  RequestFailedError,
} from './errors.js';
import { DEFAULT_FEE_LIMIT, type FeeLimit } from './fee-limit.js';
import { parseChallenges, selectChallenge } from './parse-challenge.js';
import { createPolicy, type Policy, type PolicyOptions } from './policy.js';
import { buyToken, type PurchaseContext, quoteChallenge, type PriceQuote } from './purchase.js';
import {
  DEFAULT_MAX_REPLAY_BODY_BYTES,
  type RequestSnapshot,
  requestFromSnapshot,
  snapshotRequest,
} from './request-snapshot.js';
import { budgetsToCharge, currentRunBudget } from './run-budget.js';
import { createSingleFlight } from './single-flight.js';
import type { SpendLog } from './spend-log.js';
import { formatCredential } from './credential.js';
import {
  MemoryTokenStore,
  type StoredToken,
  type TokenScope,
  type TokenStore,
  tokenKey,
} from './token-store.js';
import type { Wallet } from './wallet.js';

export interface PaidFetchOptions {
  wallet: Wallet;
  /** Charged for every payment. Default: 1,000 sats per request, no total (set one!). */
  budget?: Budget;
  policy?: Policy | PolicyOptions;
  /** Where bought tokens are kept for reuse. Default: in memory. */
  tokenStore?: TokenStore;
  /** What a bought token may be reused for: the exact path (default), the whole origin or a path prefix. */
  tokenScope?: TokenScope;
  /** Routing fee limit sent to the wallet and reserved in the budget. Default 1 sat + 1 %. */
  feeLimit?: FeeLimit;
  /** How long the wallet may take before the payment counts as unknown. Default 60 s. */
  paymentTimeoutMs?: number;
  /** Request bodies up to this size are buffered so they can be replayed after paying. */
  maxReplayBodyBytes?: number;
  maxRedirects?: number;
  /** The underlying fetch. Default: globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
  onEvent?: (event: PaidFetchEvent) => void;
  spendLog?: SpendLog;
}

export interface PaidRequestInit extends RequestInit {
  /** Lowers the price cap for this call only; it can never raise the configured cap. */
  maxSats?: number;
  /** Charge this call to this budget as well (e.g. a run budget); see `withBudget`. */
  budget?: Budget;
}

/** What a call paid. `paid` is true when this call made a new payment. */
export interface PaymentReceipt {
  url: string;
  paid: boolean;
  usedCachedToken: boolean;
  amountMsat: Msat;
  feeMsat: Msat;
  paymentHash?: string;
}

export type PaidResponse = Response & { readonly l402: PaymentReceipt };

export type PaidFetchEvent =
  | { type: 'quote'; url: string; quote: PriceQuote }
  | { type: 'payment'; url: string; amountMsat: Msat; feeMsat: Msat; paymentHash: string }
  | { type: 'token-reused'; url: string; paymentHash: string }
  | { type: 'denied'; url: string; error: L402Error }
  | { type: 'error'; url: string; error: L402Error };

export interface PaidFetch {
  (input: RequestInfo | URL, init?: PaidRequestInit): Promise<PaidResponse>;
  /** Asks for the price without paying: `undefined` price when the resource is free. */
  quote(input: RequestInfo | URL, init?: RequestInit): Promise<PriceQuote>;
  readonly wallet: Wallet;
  readonly budget: Budget;
  readonly policy: Policy;
  readonly tokenStore: TokenStore;
}

export const DEFAULT_PAYMENT_TIMEOUT_MS = 60_000;

export function createPaidFetch(options: PaidFetchOptions): PaidFetch {
  const baseFetch = options.fetch ?? globalThis.fetch;
  const budget = options.budget ?? createBudget({ name: 'default', maxSatsPerRequest: 1_000 });
  const policy =
    options.policy && 'checkUrl' in options.policy
      ? options.policy
      : createPolicy(options.policy as PolicyOptions | undefined);
  const tokenStore = options.tokenStore ?? new MemoryTokenStore();
  const scope = options.tokenScope ?? 'path';
  const maxReplayBodyBytes = options.maxReplayBodyBytes ?? DEFAULT_MAX_REPLAY_BODY_BYTES;
  const maxRedirects = options.maxRedirects ?? 20;
  const purchases = createSingleFlight<StoredToken>();
  const emit = (event: PaidFetchEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // An observer must never break a payment.
    }
  };

  const context: Omit<PurchaseContext, 'budgets' | 'maxSats' | 'signal'> = {
    wallet: options.wallet,
    policy,
    tokenStore,
    scope,
    feeLimit: options.feeLimit ?? DEFAULT_FEE_LIMIT,
    paymentTimeoutMs: options.paymentTimeoutMs ?? DEFAULT_PAYMENT_TIMEOUT_MS,
    spendLog: options.spendLog,
    emit,
    unresolved: new Map(),
  };

  async function send(request: Request, url: URL): Promise<Response> {
    try {
      return await baseFetch(request);
    } catch (cause) {
      throw new RequestFailedError(`The request to ${url.origin} failed: ${describe(cause)}`, {
        url: redactUrl(url),
        cause,
      });
    }
  }

  /** One hop: uses a stored token if any, buys one on a 402, retries once. */
  async function fetchOnce(
    snapshot: RequestSnapshot,
    url: URL,
    init: PaidRequestInit | undefined,
  ): Promise<{ response: Response; receipt: PaymentReceipt }> {
    await policy.checkUrl(url);
    const receipt: PaymentReceipt = {
      url: redactUrl(url),
      paid: false,
      usedCachedToken: false,
      amountMsat: 0n,
      feeMsat: 0n,
    };
    const cached = await tokenStore.find(url, snapshot.method);
    let rejectedToken: StoredToken | undefined;
    let response: Response;
    if (cached) {
      response = await send(requestFromSnapshot(snapshot, url, credentialOf(cached)), url);
      if (response.status !== 402) {
        emit({ type: 'token-reused', url: receipt.url, paymentHash: cached.paymentHash });
        return {
          response,
          receipt: { ...receipt, usedCachedToken: true, paymentHash: cached.paymentHash },
        };
      }
      // The server no longer accepts it (expired, revoked): drop it and buy once more.
      rejectedToken = cached;
      await tokenStore.delete(cached.key);
    } else {
      response = await send(requestFromSnapshot(snapshot, url), url);
    }
    if (response.status !== 402) return { response, receipt };
    const header = response.headers.get('www-authenticate');
    // A 402 without an L402 challenge (x402, another scheme) is handed back untouched.
    if (!header || !selectChallenge(parseChallenges(header))) return { response, receipt };
    await response.body?.cancel();

    const budgets = budgetsToCharge(budget, currentRunBudget(), init?.budget);
    let boughtNow = false;
    const buy = async () => {
      // Another call may have bought the token while this one waited for its 402.
      const fresh = await tokenStore.find(url, snapshot.method);
      if (fresh && fresh.macaroon !== rejectedToken?.macaroon) return fresh;
      const bought = await buyToken(
        { ...context, budgets, maxSats: init?.maxSats, signal: snapshot.signal },
        url,
        snapshot.method,
        header,
      );
      boughtNow = true;
      return bought;
    };
    const key = tokenKey(url, snapshot.method, scope);
    let token: StoredToken;
    try {
      token = await purchases.run(key, buy);
    } catch (error) {
      // A joined purchase refused under another caller's budget or cap: try under our own.
      if (boughtNow || !(error instanceof L402Error) || error.paid !== false || !isRefusal(error)) {
        throw error;
      }
      token = await purchases.run(key, buy);
    }

    let paidResponse: Response;
    try {
      paidResponse = await send(requestFromSnapshot(snapshot, url, credentialOf(token)), url);
    } catch (error) {
      throw new PaidNotDeliveredError(
        `Paid ${token.amountMsat} msat for ${url.origin}${url.pathname} but the retry failed; the token is kept, so trying again costs nothing.`,
        {
          url: receipt.url,
          amountMsat: token.amountMsat + token.feeMsat,
          feeMsat: token.feeMsat,
          paymentHash: token.paymentHash,
          cause: error,
        },
      );
    }
    if (paidResponse.status === 402) {
      await paidResponse.body?.cancel();
      await tokenStore.delete(token.key);
      const error = new PaymentLoopError(
        `The server asked for payment again right after being paid for ${url.origin}${url.pathname}; l402kit does not pay twice for one request.`,
        {
          url: receipt.url,
          paid: true,
          amountMsat: token.amountMsat + token.feeMsat,
          feeMsat: token.feeMsat,
          paymentHash: token.paymentHash,
        },
      );
      emit({ type: 'error', url: receipt.url, error });
      throw error;
    }
    if (paidResponse.status >= 500) {
      await paidResponse.body?.cancel();
      throw new PaidNotDeliveredError(
        `Paid for ${url.origin}${url.pathname} but the server answered ${paidResponse.status}; the token is kept, so trying again costs nothing.`,
        {
          url: receipt.url,
          amountMsat: token.amountMsat + token.feeMsat,
          feeMsat: token.feeMsat,
          paymentHash: token.paymentHash,
          status: paidResponse.status,
        },
      );
    }
    return {
      response: paidResponse,
      receipt: {
        ...receipt,
        paid: boughtNow,
        usedCachedToken: !boughtNow,
        amountMsat: boughtNow ? token.amountMsat : 0n,
        feeMsat: boughtNow ? token.feeMsat : 0n,
        paymentHash: token.paymentHash,
      },
    };
  }

  const paidFetch = (async (input: RequestInfo | URL, init?: PaidRequestInit) => {
    let snapshot: RequestSnapshot | undefined;
    try {
      snapshot = await snapshotRequest(input, init, maxReplayBodyBytes);
      let url = snapshot.url;
      let total: PaymentReceipt | undefined;
      for (let hop = 0; ; hop++) {
        const { response, receipt } = await fetchOnce(snapshot, url, init);
        total = mergeReceipts(total, receipt);
        const location = response.headers.get('location');
        if (!isRedirect(response.status) || !location || snapshot.redirect === 'manual') {
          return withReceipt(response, total);
        }
        if (snapshot.redirect === 'error' || hop >= maxRedirects) {
          throw new RequestFailedError(
            `Too many redirects or redirects not allowed for ${url.origin}`,
            {
              url: redactUrl(url),
              paid: total.paid,
              amountMsat: total.amountMsat + total.feeMsat,
            },
          );
        }
        await response.body?.cancel();
        const next = new URL(location, url);
        // 303, and 301/302 after POST, turn into a GET without body, as browsers do.
        if (
          response.status === 303 ||
          ((response.status === 301 || response.status === 302) && snapshot.method === 'POST')
        ) {
          snapshot = { ...snapshot, method: 'GET', body: undefined };
        }
        url = next;
      }
    } catch (error) {
      if (error instanceof L402Error) {
        const type = error.paid === false && isRefusal(error) ? 'denied' : 'error';
        emit({
          type,
          url: snapshot ? redactUrl(snapshot.url) : String(input),
          error,
        } as PaidFetchEvent);
        throw error;
      }
      throw new RequestFailedError(`The request could not be made: ${describe(error)}`, {
        cause: error,
      });
    }
  }) as PaidFetch;

  paidFetch.quote = async (input, init) => {
    const snapshot = await snapshotRequest(input, init, maxReplayBodyBytes);
    await policy.checkUrl(snapshot.url);
    const response = await send(requestFromSnapshot(snapshot, snapshot.url), snapshot.url);
    await response.body?.cancel();
    const quote = quoteChallenge(snapshot.url, response);
    if (quote.priceMsat !== undefined) emit({ type: 'quote', url: quote.url, quote });
    return quote;
  };
  Object.defineProperties(paidFetch, {
    wallet: { value: options.wallet },
    budget: { value: budget },
    policy: { value: policy },
    tokenStore: { value: tokenStore },
  });
  return paidFetch;
}

function credentialOf(token: StoredToken): string {
  if (!token.preimage) throw new RangeError('a pending token has no preimage yet');
  return formatCredential({
    scheme: token.scheme,
    macaroon: token.macaroon,
    preimage: token.preimage,
  });
}

function withReceipt(response: Response, receipt: PaymentReceipt): PaidResponse {
  Object.defineProperty(response, 'l402', { value: receipt, enumerable: false });
  return response as PaidResponse;
}

function mergeReceipts(previous: PaymentReceipt | undefined, next: PaymentReceipt): PaymentReceipt {
  if (!previous) return next;
  return {
    ...next,
    paid: previous.paid || next.paid,
    amountMsat: previous.amountMsat + next.amountMsat,
    feeMsat: previous.feeMsat + next.feeMsat,
    paymentHash: next.paymentHash ?? previous.paymentHash,
  };
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

const refusalCodes = new Set([
  'BUDGET_EXCEEDED',
  'PRICE_ABOVE_CAP',
  'POLICY_DENIED',
  'APPROVAL_DENIED',
  'AMOUNTLESS_INVOICE',
  'INVOICE_EXPIRED',
  'INVOICE_MISMATCH',
  'NETWORK_MISMATCH',
]);

function isRefusal(error: L402Error): boolean {
  return refusalCodes.has(error.code);
}

/** Origin and path only: query strings may carry secrets. */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
