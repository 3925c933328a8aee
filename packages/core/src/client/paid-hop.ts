import type { Msat } from '../amount.js';
import type { Budget } from '../budget/budget.js';
import { budgetsToCharge, currentRunBudget } from '../budget/run-budget.js';
import { L402Error, PaymentLoopError, RequestFailedError } from '../errors.js';
import { parseChallenges, selectChallenge } from '../protocol/parse-challenge.js';
import { redactUrl } from '../redact.js';
import { type StoredToken, tokenKey } from '../tokens/token-store.js';
import type { Approval } from './approval.js';
import { deliveryError, type PaymentReceipt } from './delivery-error.js';
import type { PaidFetchState } from './paid-fetch-state.js';
import { buyToken, credentialOf, dropToken } from './purchase.js';
import { type RequestSnapshot, requestInit } from './request-snapshot.js';
import { describe, sendRequest } from './send-request.js';

/** What the caller set for this call alone. */
export interface CallLimits {
  /** This call's own price cap (lower than the policy's, or it changes nothing). */
  maxMsat: Msat | undefined;
  /** A budget this call is charged to as well (e.g. a run budget). */
  budget: Budget | undefined;
  approval: Approval | undefined;
}

/** What the earlier hops of this call did, for the next one. */
export interface EarlierHops {
  /** What the call has paid so far; undefined before its first hop. */
  receipt: PaymentReceipt | undefined;
  /** The token this call bought, if it bought one. */
  bought: StoredToken | undefined;
  /** Each earlier hop's URL and method, in order. */
  requests: { url: URL; method: string }[];
}

/** A hop's answer, what it paid, and the token it bought if it bought one. */
export interface HopResult {
  response: Response;
  receipt: PaymentReceipt;
  bought?: StoredToken;
}

/**
 * One hop of a call: sends the request with the token kept for it, if any; on a 402 see
 * `payAndRetry`.
 */
export async function fetchHop(
  state: PaidFetchState,
  snapshot: RequestSnapshot,
  url: URL,
  limits: CallLimits,
  earlier: EarlierHops,
): Promise<HopResult> {
  await state.policy.checkUrl(url);
  const receipt: PaymentReceipt = {
    url: redactUrl(url),
    paid: false,
    usedCachedToken: false,
    amountMsat: 0n,
    feeMsat: 0n,
  };
  const cached = await state.tokenStore.find(url, snapshot.method);
  let response: Response;
  if (cached) {
    const reused = { ...receipt, usedCachedToken: true, paymentHash: cached.paymentHash };
    response = await sendRequest(
      state,
      requestInit(snapshot, url, credentialOf(cached)),
      url,
      reused,
    );
    if (response.status !== 402) {
      state.emit({ type: 'token-reused', url: receipt.url, paymentHash: cached.paymentHash });
      return { response, receipt: reused };
    }
    // The server no longer accepts it (expired, revoked): it is dropped and bought once more.
  } else {
    response = await sendRequest(state, requestInit(snapshot, url), url);
  }
  if (response.status !== 402) return { response, receipt };
  return payAndRetry(state, snapshot, url, { response, receipt, cached, limits, earlier });
}

/** A hop's first answer, a 402, and what the call knows when it comes. */
interface PaymentRequired {
  response: Response;
  receipt: PaymentReceipt;
  /** The stored token the server just refused, if one was sent. */
  cached: StoredToken | undefined;
  limits: CallLimits;
  earlier: EarlierHops;
}

/**
 * Answers a 402: an L402 challenge is paid (once per call, never where a payment loop was
 * recorded) and the request retried with the token; any other 402 is handed back untouched.
 */
async function payAndRetry(
  state: PaidFetchState,
  snapshot: RequestSnapshot,
  url: URL,
  { response, receipt, cached, limits, earlier }: PaymentRequired,
): Promise<HopResult> {
  const header = response.headers.get('www-authenticate');
  // A 402 without an L402 challenge (x402, another scheme) is handed back untouched.
  if (!header || !selectChallenge(parseChallenges(header))) return { response, receipt };
  await response.body?.cancel();
  if (earlier.receipt?.paid) {
    // Paid on an earlier hop of this call, and asked again after a redirect: a payment loop,
    // remembered against what was paid, so that no later call through that redirect pays.
    const recorded = earlier.bought ? await state.loopGuard.record(earlier.bought) : false;
    throw loopError(url, earlier.receipt, earlier.receipt.paymentHash, recorded);
  }
  await state.loopGuard.refuseIfLooped(url, snapshot.method, receipt.url, earlier.requests);
  const { token, boughtHere } = await purchase(state, snapshot, url, {
    header,
    rejected: cached,
    budgets: budgetsToCharge(state.budget, currentRunBudget(), limits.budget),
    maxMsat: limits.maxMsat,
    approval: limits.approval,
  });
  const spent: PaymentReceipt = {
    ...receipt,
    paid: boughtHere,
    usedCachedToken: !boughtHere,
    amountMsat: boughtHere ? token.amountMsat : 0n,
    feeMsat: boughtHere ? token.feeMsat : 0n,
    paymentHash: token.paymentHash,
  };
  const paidResponse = await retryWithToken(state, snapshot, url, token, spent);
  return { response: paidResponse, receipt: spent, ...(boughtHere ? { bought: token } : {}) };
}

/** What a purchase is for, besides the request itself. */
interface PurchaseTerms {
  /** The 402's WWW-Authenticate header. */
  header: string;
  /** The stored token the server just refused, if one was sent. */
  rejected: StoredToken | undefined;
  budgets: Budget[];
  maxMsat: Msat | undefined;
  approval: Approval | undefined;
}

/** Pays for `url` once, shared with concurrent callers that need the same token. */
async function purchase(
  state: PaidFetchState,
  snapshot: RequestSnapshot,
  url: URL,
  terms: PurchaseTerms,
): Promise<{ token: StoredToken; boughtHere: boolean }> {
  const { header, rejected, budgets, maxMsat, approval } = terms;
  let boughtHere = false;
  let ranHere = false;
  const buy = async () => {
    ranHere = true;
    // Another call may have bought the token while this one waited for its 402.
    const fresh = await state.tokenStore.find(url, snapshot.method);
    if (fresh && fresh.paymentHash !== rejected?.paymentHash) return fresh;
    // Dropped here, inside the single flight, so a late 402 cannot drop a newer token.
    if (rejected) await dropToken(state.tokenStore, rejected);
    const bought = await buyToken(
      { ...state.purchase, budgets, maxMsat, approval, signal: snapshot.signal },
      url,
      snapshot.method,
      header,
    );
    boughtHere = bought.paid;
    return bought.token;
  };
  const key = tokenKey(url, snapshot.method, state.scope);
  const attempt = async () => {
    const shared = state.purchases.run(key, buy);
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

/**
 * Sends the request again with the token. Another 402 is a payment loop (the token is dropped
 * and the loop remembered), a 5xx a failed delivery; either way the error says what was paid.
 */
async function retryWithToken(
  state: PaidFetchState,
  snapshot: RequestSnapshot,
  url: URL,
  token: StoredToken,
  spent: PaymentReceipt,
): Promise<Response> {
  try {
    const init = requestInit(snapshot, url, credentialOf(token));
    const paidResponse = await sendRequest(state, init, url, spent);
    if (paidResponse.status === 402) {
      await paidResponse.body?.cancel();
      await dropToken(state.tokenStore, token);
      const recorded = await state.loopGuard.record(token);
      throw loopError(url, spent, token.paymentHash, recorded);
    }
    if (paidResponse.status >= 500) {
      await paidResponse.body?.cancel();
      throw deliveryError(spent, `the server answered ${paidResponse.status}`, {
        status: paidResponse.status,
      });
    }
    return paidResponse;
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

/** A refusal before paying: nothing moved, and another caller's budget may allow it. */
export function isRefusal(error: L402Error): boolean {
  return refusalCodes.has(error.code);
}
