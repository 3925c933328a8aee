import { type Msat, satsToMsat } from '../amount.js';
import type { Budget } from '../budget/budget.js';
import { createBudget } from '../budget/budget.js';
import {
  InvalidOptionError,
  L402Error,
  PaymentLoopError,
  PolicyDeniedError,
  RequestFailedError,
  RequestTimeoutError,
} from '../errors.js';
import { checkFeeLimit, DEFAULT_FEE_LIMIT, type FeeLimit } from '../budget/fee-limit.js';
import { parseChallenges, selectChallenge } from '../protocol/parse-challenge.js';
import type { Approval } from './approval.js';
import { deliveryError, formatDuration, type PaymentReceipt } from './delivery-error.js';
import { guardBody, MAX_TIMER_MS } from './guarded-body.js';
import { createGuardedFetch } from './guarded-fetch.js';
import { createPaymentLoopGuard, type PaymentLoopOptions } from './payment-loop-guard.js';
import { CONNECT_DENIAL, createPolicy, type Policy, type PolicyOptions } from './policy.js';
import {
  buyToken,
  credentialOf,
  dropToken,
  type PendingResolution,
  type PriceQuote,
  type PurchaseContext,
  type PurchaseEvent,
  quoteChallenge,
  resolvePending,
} from './purchase.js';
import {
  DEFAULT_MAX_REPLAY_BODY_BYTES,
  type RequestSnapshot,
  requestInit,
  snapshotRequest,
  withoutBody,
} from './request-snapshot.js';
import { budgetsToCharge, currentRunBudget } from '../budget/run-budget.js';
import { redactCause, redactInputIn, redactUrl } from '../redact.js';
import { createSingleFlight } from './single-flight.js';
import type { SpendLog } from './spend-log.js';
import type { PaymentLoop } from '../tokens/payment-loops.js';
import {
  MemoryTokenStore,
  type StoredToken,
  type TokenScope,
  type TokenStore,
  tokenKey,
} from '../tokens/token-store.js';
import type { Wallet } from '../wallet.js';

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
  /**
   * How long the wallet may take before the payment counts as unknown. Default 60 s. Also how
   * long after it was recorded a call waits for a payment that another process sharing the
   * token store may still be making, before asking the wallet about it one last time.
   */
  paymentTimeoutMs?: number;
  /**
   * Each HTTP request l402kit sends (the first, the paid retry, every redirect) must get its
   * response headers within this many ms, or the call fails with a RequestTimeoutError whose
   * `paid` says whether it paid. Default 30 s; `Infinity` turns it off.
   */
  headersTimeoutMs?: number;
  /**
   * The returned response's body must be read in full within this many ms of its headers;
   * after that it is aborted and reading it rejects with a RequestTimeoutError. Default 60 s;
   * `Infinity` turns it off (e.g. for long downloads the caller bounds itself).
   */
  bodyTimeoutMs?: number;
  /** Request bodies (streams included) up to this size are buffered so they can be replayed after paying. */
  maxReplayBodyBytes?: number;
  maxRedirects?: number;
  /**
   * The underlying fetch. Default: with the policy's private-network check on, a fetch (undici
   * with its own connection pool) that connects only to addresses the policy vetted; otherwise
   * globalThis.fetch. A fetch given here connects on its own: the policy still checks every URL
   * before it is sent, but cannot check the address the connection then goes to.
   */
  fetch?: typeof globalThis.fetch;
  /** Told about quotes, payments, reused tokens, refusals and errors; never given a secret. */
  onEvent?: (event: PaidFetchEvent) => void;
  /** Append-only JSONL record of every payment attempt and its outcome. */
  spendLog?: SpendLog;
  /**
   * After a payment loop (the server answered 402 again after being paid), that resource is
   * refused without paying, and after `perOrigin` loops (default 2) the whole origin, until an
   * operator clears the record (`clearPaymentLoops`) or `cooldownMs` (default: none) has passed
   * since the last loop. The records live in the token store, so they hold across processes.
   */
  paymentLoops?: PaymentLoopOptions;
}

export interface PaidRequestInit extends RequestInit {
  /** Lowers the price cap for this call only; it can never raise the configured cap. */
  maxSats?: number;
  /** Charge this call to this budget as well (e.g. a run budget); see `withBudget`. */
  budget?: Budget;
  /**
   * A person's approval of this call's payment (from `grantApproval`, bound to the URL,
   * method, amount, fee limit, payee and expiry they saw); used once. Needed only when the
   * policy asks for approval (`approveAboveSats`) and has no `approve` callback.
   */
  approval?: Approval;
}

export type { PaymentReceipt };

export type PaidResponse = Response & { readonly l402: PaymentReceipt };

export type PaidFetchEvent =
  | { type: 'quote'; url: string; quote: PriceQuote }
  | PurchaseEvent
  | { type: 'token-reused'; url: string; paymentHash: string }
  | { type: 'denied'; url: string; error: L402Error }
  | { type: 'error'; url: string; error: L402Error };

// Inputs are `string | URL | Request`, not the DOM lib's `RequestInfo`: the published .d.ts must
// compile in a Node project without the DOM lib.
export interface PaidFetch {
  (input: string | URL | Request, init?: PaidRequestInit): Promise<PaidResponse>;
  /** Asks for the price without paying: `priceMsat` is absent when the resource asks for none. */
  quote(input: string | URL | Request, init?: RequestInit): Promise<PriceQuote>;
  /**
   * Asks the wallet about every payment the token store holds as pending (after a timeout or
   * a crash): paid ones become usable tokens, failed ones are dropped (and their budget
   * reservations released), the rest stay pending.
   */
  resolvePending(): Promise<PendingResolution[]>;
  /** Resources and origins refused after a payment loop (see `paymentLoops`). */
  paymentLoops(): Promise<PaymentLoop[]>;
  /**
   * Forgets payment-loop records so those resources may be paid again: one record by its key,
   * every record of the origin of a URL (or origin), or all. Returns how many were removed.
   */
  clearPaymentLoops(target?: string | URL): Promise<number>;
  readonly wallet: Wallet;
  readonly budget: Budget;
  readonly policy: Policy;
  readonly tokenStore: TokenStore;
}

export const DEFAULT_PAYMENT_TIMEOUT_MS = 60_000;
export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000;
export const DEFAULT_BODY_TIMEOUT_MS = 60_000;

/**
 * A fetch that pays L402 challenges: at most one payment per call, only within the policy
 * and every budget, never twice for one resource (single flight in the process, a claim in
 * the token store across processes, pending payments remembered), with the token sent only
 * to the origin and scope it was bought for.
 */
export function createPaidFetch(options: PaidFetchOptions): PaidFetch {
  const budget = options.budget ?? createBudget({ name: 'default', maxSatsPerRequest: 1_000 });
  const policy =
    options.policy && 'checkUrl' in options.policy
      ? options.policy
      : createPolicy(options.policy as PolicyOptions | undefined);
  // With the private-network check on, every connection resolves through the policy, so a
  // name cannot answer a public address to the check and a private one to the connect.
  const resolveForConnect = policy.resolveForConnect?.bind(policy);
  const baseFetch =
    options.fetch ?? (resolveForConnect ? createGuardedFetch(resolveForConnect) : globalThis.fetch);
  const tokenStore = options.tokenStore ?? new MemoryTokenStore();
  const scope = options.tokenScope ?? 'path';
  const maxReplayBodyBytes = options.maxReplayBodyBytes ?? DEFAULT_MAX_REPLAY_BODY_BYTES;
  const maxRedirects = options.maxRedirects ?? 20;
  const paymentTimeoutMs = positive(
    'paymentTimeoutMs',
    options.paymentTimeoutMs ?? DEFAULT_PAYMENT_TIMEOUT_MS,
  );
  const headersTimeoutMs = positive(
    'headersTimeoutMs',
    options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
  );
  const bodyTimeoutMs = positive('bodyTimeoutMs', options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS);
  // Each sent request's deadline, so the returned response's body can be aborted on time.
  const deadlines = new WeakMap<Response, AbortController>();
  const purchases = createSingleFlight<StoredToken>();
  const loopGuard = createPaymentLoopGuard(tokenStore, scope, options.paymentLoops);
  const emit = (event: PaidFetchEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // An observer must never break a payment.
    }
  };

  const context: Omit<PurchaseContext, 'budgets' | 'maxMsat' | 'approval' | 'signal'> = {
    wallet: options.wallet,
    policy,
    tokenStore,
    scope,
    feeLimit: checkFeeLimit(options.feeLimit ?? DEFAULT_FEE_LIMIT),
    paymentTimeoutMs,
    spendLog: options.spendLog,
    emit,
    unresolved: new Map(),
  };

  /**
   * One HTTP request, whose headers must come within the deadline; `spent` says what the call
   * has paid so far, for its error.
   */
  async function send(init: RequestInit, url: URL, spent?: PaymentReceipt): Promise<Response> {
    const deadline = new AbortController();
    const signal = init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
    const timer = Number.isFinite(headersTimeoutMs)
      ? setTimeout(
          () => deadline.abort(new Error('the headers deadline passed')),
          Math.min(headersTimeoutMs, MAX_TIMER_MS),
        )
      : undefined;
    try {
      const response = await baseFetch(url.href, { ...init, signal });
      deadlines.set(response, deadline);
      return response;
    } catch (cause) {
      const timedOut = deadline.signal.aborted;
      const denial = timedOut ? undefined : policyDenial(cause);
      const rule = denial?.message.replace(CONNECT_DENIAL, '').replace(/\.$/, '');
      if (spent) {
        const problem = timedOut
          ? `no response came within ${formatDuration(headersTimeoutMs)}`
          : denial
            ? `the policy refused the connection (${rule})`
            : `the request failed (${describe(cause)})`;
        throw deliveryError(spent, problem, { cause: denial ?? cause, timedOut });
      }
      if (timedOut) {
        throw new RequestTimeoutError(
          `No response from ${redactUrl(url)} within ${formatDuration(headersTimeoutMs)}. Nothing was paid.`,
          { url: redactUrl(url), cause },
        );
      }
      if (denial) {
        throw new PolicyDeniedError(
          `Policy denied ${redactUrl(url)} when connecting: ${rule}. Nothing was paid.`,
          { url: redactUrl(url), cause: denial },
        );
      }
      throw new RequestFailedError(
        `The request to ${url.origin} failed: ${describe(cause)}. Nothing was paid.`,
        { url: redactUrl(url), cause },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Pays for `url` once, shared with concurrent callers that need the same token. */
  async function purchase(
    snapshot: RequestSnapshot,
    url: URL,
    header: string,
    rejected: StoredToken | undefined,
    budgets: Budget[],
    maxMsat: Msat | undefined,
    approval: Approval | undefined,
  ): Promise<{ token: StoredToken; boughtHere: boolean }> {
    let boughtHere = false;
    let ranHere = false;
    const buy = async () => {
      ranHere = true;
      // Another call may have bought the token while this one waited for its 402.
      const fresh = await tokenStore.find(url, snapshot.method);
      if (fresh && fresh.paymentHash !== rejected?.paymentHash) return fresh;
      // Dropped here, inside the single flight, so a late 402 cannot drop a newer token.
      if (rejected) await dropToken(tokenStore, rejected);
      const bought = await buyToken(
        { ...context, budgets, maxMsat, approval, signal: snapshot.signal },
        url,
        snapshot.method,
        header,
      );
      boughtHere = bought.paid;
      return bought.token;
    };
    const key = tokenKey(url, snapshot.method, scope);
    const attempt = async () => {
      const shared = purchases.run(key, buy);
      // The caller that pays passes its signal to the wallet; the others only stop waiting.
      return ranHere ? shared : untilAborted(shared, snapshot.signal, url);
    };
    try {
      return { token: await attempt(), boughtHere };
    } catch (error) {
      // Refused under another caller's budget or cap: try once under our own.
      if (ranHere || !(error instanceof L402Error) || error.paid !== false || !isRefusal(error)) {
        throw error;
      }
      return { token: await attempt(), boughtHere };
    }
  }

  /** One hop: uses a stored token if any, buys one on a 402 (unless this call paid already), retries once. */
  async function fetchOnce(
    snapshot: RequestSnapshot,
    url: URL,
    init: PaidRequestInit | undefined,
    maxMsat: Msat | undefined,
    paidSoFar: PaymentReceipt | undefined,
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
    let response: Response;
    if (cached) {
      const reused = { ...receipt, usedCachedToken: true, paymentHash: cached.paymentHash };
      response = await send(requestInit(snapshot, url, credentialOf(cached)), url, reused);
      if (response.status !== 402) {
        emit({ type: 'token-reused', url: receipt.url, paymentHash: cached.paymentHash });
        return { response, receipt: reused };
      }
      // The server no longer accepts it (expired, revoked): it is dropped and bought once more.
    } else {
      response = await send(requestInit(snapshot, url), url);
    }
    if (response.status !== 402) return { response, receipt };
    const header = response.headers.get('www-authenticate');
    // A 402 without an L402 challenge (x402, another scheme) is handed back untouched.
    if (!header || !selectChallenge(parseChallenges(header))) return { response, receipt };
    await response.body?.cancel();
    if (paidSoFar?.paid) {
      // Paid on an earlier hop of this call, and asked again after a redirect.
      throw loopError(url, paidSoFar, paidSoFar.paymentHash);
    }
    await loopGuard.refuseIfLooped(url, snapshot.method, receipt.url);

    const budgets = budgetsToCharge(budget, currentRunBudget(), init?.budget);
    const { token, boughtHere } = await purchase(
      snapshot,
      url,
      header,
      cached,
      budgets,
      maxMsat,
      init?.approval,
    );
    const spent: PaymentReceipt = {
      ...receipt,
      paid: boughtHere,
      usedCachedToken: !boughtHere,
      amountMsat: boughtHere ? token.amountMsat : 0n,
      feeMsat: boughtHere ? token.feeMsat : 0n,
      paymentHash: token.paymentHash,
    };
    try {
      const paidResponse = await send(requestInit(snapshot, url, credentialOf(token)), url, spent);
      if (paidResponse.status === 402) {
        await paidResponse.body?.cancel();
        await dropToken(tokenStore, token);
        const recorded = await loopGuard.record(token);
        throw loopError(url, spent, token.paymentHash, recorded);
      }
      if (paidResponse.status >= 500) {
        await paidResponse.body?.cancel();
        throw deliveryError(spent, `the server answered ${paidResponse.status}`, {
          status: paidResponse.status,
        });
      }
      return { response: paidResponse, receipt: spent };
    } catch (error) {
      // Whatever fails once this call has paid (the token store, a cancelled body) says so.
      if (spent.paid && !(error instanceof L402Error && error.paid !== false)) {
        throw deliveryError(spent, `the request with the token failed (${describe(error)})`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /** Turns a failure while reading the returned body into an error that says what was paid. */
  const bodyError = (receipt: PaymentReceipt) => (cause: unknown, timedOut: boolean) => {
    const problem = timedOut
      ? `its response body did not arrive in full within ${formatDuration(bodyTimeoutMs)}`
      : `the response body was cut off (${describe(cause)})`;
    const error = deliveryError(receipt, problem, { cause, timedOut });
    emit({ type: 'error', url: receipt.url, error });
    return error;
  };

  const paidFetch = (async (input: string | URL | Request, init?: PaidRequestInit) => {
    let snapshot: RequestSnapshot | undefined;
    let total: PaymentReceipt | undefined;
    try {
      const maxMsat = init?.maxSats === undefined ? undefined : satsToMsat(init.maxSats);
      snapshot = await snapshotRequest(input, init, maxReplayBodyBytes);
      let url = snapshot.url;
      for (let hop = 0; ; hop++) {
        const { response, receipt } = await fetchOnce(snapshot, url, init, maxMsat, total);
        total = mergeReceipts(total, receipt);
        const location = response.headers.get('location');
        if (!isRedirect(response.status) || !location || snapshot.redirect === 'manual') {
          const guarded = guardBody(response, {
            onError: bodyError(total),
            abort: deadlines.get(response),
            timeoutMs: bodyTimeoutMs,
          });
          return withReceipt(guarded, total);
        }
        await response.body?.cancel();
        if (snapshot.redirect === 'error' || hop >= maxRedirects) {
          throw new RequestFailedError(
            `${snapshot.redirect === 'error' ? 'A redirect was not allowed' : 'Too many redirects'} for ${redactUrl(url)}.`,
            { url: redactUrl(url), paid: total.paid, amountMsat: total.amountMsat + total.feeMsat },
          );
        }
        const next = new URL(location, url);
        // 303, and 301/302 after POST, turn into a GET without body, as browsers do.
        if (
          response.status === 303 ||
          ((response.status === 301 || response.status === 302) && snapshot.method === 'POST')
        ) {
          snapshot = withoutBody(snapshot);
        }
        url = next;
      }
    } catch (caught) {
      let error =
        caught instanceof L402Error
          ? caught
          : // After a payment on an earlier hop it becomes a PAID_NOT_DELIVERED just below.
            new RequestFailedError(
              `The request could not be made: ${describe(caught, input)}. Nothing was paid.`,
              {
                url: snapshot ? redactUrl(snapshot.url) : undefined,
                cause: redactCause(caught, input),
              },
            );
      if (total?.paid && error.paid === false) {
        // A later hop failed, but this call did pay on an earlier one: say so.
        error = deliveryError(total, `following its redirect failed (${error.code})`, {
          cause: error,
        });
      }
      const type = error.paid === false && isRefusal(error) ? 'denied' : 'error';
      emit({ type, url: error.url ?? (snapshot ? redactUrl(snapshot.url) : ''), error });
      throw error;
    }
  }) as PaidFetch;

  paidFetch.quote = async (input, init) => {
    try {
      const snapshot = await snapshotRequest(input, init, maxReplayBodyBytes);
      await policy.checkUrl(snapshot.url);
      const response = await send(requestInit(snapshot, snapshot.url), snapshot.url);
      await response.body?.cancel();
      const quote = quoteChallenge(
        snapshot.url,
        response,
        context.feeLimit,
        context.wallet,
        policy.allowsOpaqueToken?.(snapshot.url.hostname) ?? false,
      );
      emit({ type: 'quote', url: quote.url, quote });
      return quote;
    } catch (error) {
      if (error instanceof L402Error) throw error;
      throw new RequestFailedError(
        `The quote could not be made: ${describe(error, input)}. Nothing was paid.`,
        {
          cause: redactCause(error, input),
        },
      );
    }
  };
  paidFetch.resolvePending = async () => {
    const results: PendingResolution[] = [];
    for (const token of await tokenStore.list()) {
      if (token.state !== 'pending') continue;
      results.push(await resolvePending(context, token));
    }
    return results;
  };
  paidFetch.paymentLoops = () => loopGuard.list();
  paidFetch.clearPaymentLoops = (target) => loopGuard.clear(target);
  Object.defineProperties(paidFetch, {
    wallet: { value: options.wallet },
    budget: { value: budget },
    policy: { value: policy },
    tokenStore: { value: tokenStore },
  });
  return paidFetch;
}

/** `value`, if it is a positive number (Infinity included). */
function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new InvalidOptionError(`${name} must be a positive number of milliseconds.`);
  }
  return value;
}

function loopError(
  url: URL,
  paid: PaymentReceipt,
  paymentHash: string | undefined,
  recorded = false,
) {
  const remembered = recorded
    ? ' It will not be paid again until the record is cleared (paidFetch.clearPaymentLoops(), `l402kit tokens loops clear`) or its cool-down passes.'
    : '';
  return new PaymentLoopError(
    `The server asked for payment again for ${redactUrl(url)} after this request was paid; l402kit pays at most once per request.${remembered}`,
    {
      url: redactUrl(url),
      paid: paid.paid,
      amountMsat: paid.amountMsat + paid.feeMsat,
      feeMsat: paid.feeMsat,
      paymentHash,
    },
  );
}

/** Waits for `promise` unless `signal` aborts first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, url: URL) {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new RequestFailedError(`The request to ${redactUrl(url)} was aborted. Nothing was paid.`, {
          url: redactUrl(url),
          cause: signal.reason,
        }),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
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
    usedCachedToken: previous.usedCachedToken || next.usedCachedToken,
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
  'APPROVAL_REQUIRED',
  'AMOUNTLESS_INVOICE',
  'INVOICE_EXPIRED',
  'INVOICE_MISMATCH',
  'OPAQUE_TOKEN',
  'NETWORK_MISMATCH',
  'BODY_NOT_REPLAYABLE',
  'PAYMENT_LOOP_REFUSED',
]);

function isRefusal(error: L402Error): boolean {
  return refusalCodes.has(error.code);
}

/** The policy's refusal of a connection, somewhere in the chain of causes of a failed fetch. */
function policyDenial(error: unknown): PolicyDeniedError | undefined {
  for (let cause = error, depth = 0; cause !== undefined && depth < 5; depth++) {
    if (cause instanceof PolicyDeniedError) return cause;
    cause = cause instanceof Error ? (cause as { cause?: unknown }).cause : undefined;
  }
  return undefined;
}

/** `error` in a few words; `input` (the URL as given, maybe unparsable) is echoed without its secrets. */
function describe(error: unknown, input?: RequestInfo | URL): string {
  return redactInputIn(describeRaw(error), input);
}

function describeRaw(error: unknown): string {
  if (error instanceof L402Error) return error.code;
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
