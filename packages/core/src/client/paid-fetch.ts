import { satsToMsat } from '../amount.js';
import type { Budget } from '../budget/budget.js';
import { createBudget } from '../budget/budget.js';
import { budgetsToCharge, currentRunBudget } from '../budget/run-budget.js';
import { checkFeeLimit, DEFAULT_FEE_LIMIT, type FeeLimit } from '../budget/fee-limit.js';
import { InvalidOptionError, L402Error, RequestFailedError } from '../errors.js';
import { redactCause, redactUrl } from '../redact.js';
import type { PaymentLoop } from '../tokens/payment-loops.js';
import {
  MemoryTokenStore,
  type StoredToken,
  type TokenScope,
  type TokenStore,
} from '../tokens/token-store.js';
import type { Wallet } from '../wallet.js';
import type { Approval } from './approval.js';
import { deliveryError, formatDuration, type PaymentReceipt } from './delivery-error.js';
import { guardBody } from './guarded-body.js';
import { createGuardedFetch } from './guarded-fetch.js';
import type { PaidFetchEvent, PaidFetchState } from './paid-fetch-state.js';
import { type EarlierHops, fetchHop, isRefusal } from './paid-hop.js';
import { createPaymentLoopGuard, type PaymentLoopOptions } from './payment-loop-guard.js';
import { createPolicy, type Policy, type PolicyOptions } from './policy.js';
import {
  type PendingResolution,
  type PriceQuote,
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
import { describe, sendRequest } from './send-request.js';
import { createSingleFlight } from './single-flight.js';
import type { SpendLog } from './spend-log.js';

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

export type { PaidFetchEvent };

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
  const state = resolveState(options);
  const paidFetch = ((input: string | URL | Request, init?: PaidRequestInit) =>
    fetchFollowingRedirects(state, input, init)) as PaidFetch;
  paidFetch.quote = (input, init) => quote(state, input, init);
  paidFetch.resolvePending = async () => {
    const results: PendingResolution[] = [];
    // A payment a process that died had reserved is charged to these budgets' ledgers.
    const settling = {
      ...state.purchase,
      budgets: budgetsToCharge(state.budget, currentRunBudget()),
    };
    for (const token of await state.tokenStore.list()) {
      if (token.state !== 'pending') continue;
      results.push(await resolvePending(settling, token));
    }
    return results;
  };
  paidFetch.paymentLoops = () => state.loopGuard.list();
  paidFetch.clearPaymentLoops = (target) => state.loopGuard.clear(target);
  Object.defineProperties(paidFetch, {
    wallet: { value: options.wallet },
    budget: { value: state.budget },
    policy: { value: state.policy },
    tokenStore: { value: state.tokenStore },
  });
  return paidFetch;
}

/** The options with their defaults, checked, and the state every call of this fetch shares. */
function resolveState(options: PaidFetchOptions): PaidFetchState {
  const budget = options.budget ?? createBudget({ name: 'default', maxSatsPerRequest: 1_000 });
  const policy =
    options.policy && 'checkUrl' in options.policy
      ? options.policy
      : createPolicy(options.policy as PolicyOptions | undefined);
  // With the private-network check on, every connection resolves through the policy, so a
  // name cannot answer a public address to the check and a private one to the connect.
  const resolveForConnect = policy.resolveForConnect?.bind(policy);
  const tokenStore = options.tokenStore ?? new MemoryTokenStore();
  const scope = options.tokenScope ?? 'path';
  const emit = (event: PaidFetchEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // An observer must never break a payment.
    }
  };
  return {
    budget,
    policy,
    baseFetch:
      options.fetch ??
      (resolveForConnect ? createGuardedFetch(resolveForConnect) : globalThis.fetch),
    tokenStore,
    scope,
    maxReplayBodyBytes: options.maxReplayBodyBytes ?? DEFAULT_MAX_REPLAY_BODY_BYTES,
    maxRedirects: options.maxRedirects ?? 20,
    headersTimeoutMs: positive(
      'headersTimeoutMs',
      options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    ),
    bodyTimeoutMs: positive('bodyTimeoutMs', options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS),
    deadlines: new WeakMap(),
    purchases: createSingleFlight<StoredToken>(),
    loopGuard: createPaymentLoopGuard(tokenStore, scope, options.paymentLoops),
    emit,
    purchase: {
      wallet: options.wallet,
      policy,
      tokenStore,
      scope,
      feeLimit: checkFeeLimit(options.feeLimit ?? DEFAULT_FEE_LIMIT),
      paymentTimeoutMs: positive(
        'paymentTimeoutMs',
        options.paymentTimeoutMs ?? DEFAULT_PAYMENT_TIMEOUT_MS,
      ),
      spendLog: options.spendLog,
      emit,
      unresolved: new Map(),
    },
  };
}

/**
 * One call: hop after hop (each may pay, the call at most once) until a response that is not
 * a redirect to follow, whose body is then guarded by the body deadline.
 */
async function fetchFollowingRedirects(
  state: PaidFetchState,
  input: string | URL | Request,
  init: PaidRequestInit | undefined,
): Promise<PaidResponse> {
  let snapshot: RequestSnapshot | undefined;
  let total: PaymentReceipt | undefined;
  try {
    const limits = {
      maxMsat: init?.maxSats === undefined ? undefined : satsToMsat(init.maxSats),
      budget: init?.budget,
      approval: init?.approval,
    };
    snapshot = await snapshotRequest(input, init, state.maxReplayBodyBytes);
    let url = snapshot.url;
    const earlier: EarlierHops = { receipt: undefined, bought: undefined, requests: [] };
    for (let hopCount = 0; ; hopCount++) {
      const hop = await fetchHop(state, snapshot, url, limits, earlier);
      const { response } = hop;
      total = mergeReceipts(total, hop.receipt);
      earlier.receipt = total;
      earlier.bought ??= hop.bought;
      earlier.requests.push({ url, method: snapshot.method });
      const location = isRedirect(response.status) ? response.headers.get('location') : null;
      if (!location || snapshot.redirect === 'manual') {
        // The receipt is set with the guard, in the one prototype swap that guards the body.
        const guarded = guardBody(response, {
          onError: bodyError(state, total),
          abort: state.deadlines.get(response),
          timeoutMs: state.bodyTimeoutMs,
          receipt: total,
        });
        return guarded as PaidResponse;
      }
      await response.body?.cancel();
      if (snapshot.redirect === 'error' || hopCount >= state.maxRedirects) {
        throw new RequestFailedError(
          `${snapshot.redirect === 'error' ? 'A redirect was not allowed' : 'Too many redirects'} for ${redactUrl(url)}.`,
          { url: redactUrl(url), paid: total.paid, amountMsat: total.amountMsat + total.feeMsat },
        );
      }
      snapshot = afterRedirect(snapshot, response.status);
      url = new URL(location, url);
    }
  } catch (caught) {
    const error = callError(caught, input, snapshot, total);
    const type = error.paid === false && isRefusal(error) ? 'denied' : 'error';
    state.emit({ type, url: error.url ?? (snapshot ? redactUrl(snapshot.url) : ''), error });
    throw error;
  }
}

/** 303, and 301/302 after POST, turn into a GET without body, as browsers do. */
function afterRedirect(snapshot: RequestSnapshot, status: number): RequestSnapshot {
  const toGet =
    status === 303 || ((status === 301 || status === 302) && snapshot.method === 'POST');
  return toGet ? withoutBody(snapshot) : snapshot;
}

/** The typed error a call rejects with; after a payment on an earlier hop it says so. */
function callError(
  caught: unknown,
  input: string | URL | Request,
  snapshot: RequestSnapshot | undefined,
  total: PaymentReceipt | undefined,
): L402Error {
  const error =
    caught instanceof L402Error
      ? caught
      : new RequestFailedError(
          `The request could not be made: ${describe(caught, input)}. Nothing was paid.`,
          {
            url: snapshot ? redactUrl(snapshot.url) : undefined,
            cause: redactCause(caught, input),
          },
        );
  if (total?.paid && error.paid === false) {
    // A later hop failed, but this call did pay on an earlier one: say so.
    return deliveryError(total, `following its redirect failed (${error.code})`, {
      cause: error,
    });
  }
  return error;
}

/** Turns a failure while reading the returned body into an error that says what was paid. */
function bodyError(state: PaidFetchState, receipt: PaymentReceipt) {
  return (cause: unknown, timedOut: boolean) => {
    const problem = timedOut
      ? `its response body did not arrive in full within ${formatDuration(state.bodyTimeoutMs)}`
      : `the response body was cut off (${describe(cause)})`;
    const error = deliveryError(receipt, problem, { cause, timedOut });
    state.emit({ type: 'error', url: receipt.url, error });
    return error;
  };
}

/** The price the resource asks, from one unpaid request; never pays. */
async function quote(
  state: PaidFetchState,
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<PriceQuote> {
  try {
    const snapshot = await snapshotRequest(input, init, state.maxReplayBodyBytes);
    await state.policy.checkUrl(snapshot.url);
    const response = await sendRequest(state, requestInit(snapshot, snapshot.url), snapshot.url);
    await response.body?.cancel();
    const priceQuote = quoteChallenge(
      snapshot.url,
      response,
      state.purchase.feeLimit,
      state.purchase.wallet,
      state.policy.allowsOpaqueToken?.(snapshot.url.hostname) ?? false,
    );
    state.emit({ type: 'quote', url: priceQuote.url, quote: priceQuote });
    return priceQuote;
  } catch (error) {
    if (error instanceof L402Error) throw error;
    throw new RequestFailedError(
      `The quote could not be made: ${describe(error, input)}. Nothing was paid.`,
      { cause: redactCause(error, input) },
    );
  }
}

/** `value`, if it is a positive number (Infinity included). */
function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new InvalidOptionError(`${name} must be a positive number of milliseconds.`);
  }
  return value;
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
