import {
  L402Error,
  PolicyDeniedError,
  RequestFailedError,
  RequestTimeoutError,
} from '../errors.js';
import { redactInputIn, redactUrl } from '../redact.js';
import { deliveryError, formatDuration, type PaymentReceipt } from './delivery-error.js';
import { MAX_TIMER_MS } from './guarded-body.js';
import type { PaidFetchState } from './paid-fetch-state.js';
import { CONNECT_DENIAL } from './policy.js';

/**
 * One HTTP request, whose headers must come within the deadline; `spent` says what the call
 * has paid so far, for its error.
 */
export async function sendRequest(
  state: Pick<PaidFetchState, 'baseFetch' | 'headersTimeoutMs' | 'deadlines'>,
  init: RequestInit,
  url: URL,
  spent?: PaymentReceipt,
): Promise<Response> {
  const deadline = new AbortController();
  const signal = init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
  const timer = Number.isFinite(state.headersTimeoutMs)
    ? setTimeout(
        () => deadline.abort(new Error('the headers deadline passed')),
        Math.min(state.headersTimeoutMs, MAX_TIMER_MS),
      )
    : undefined;
  try {
    const response = await state.baseFetch(url.href, { ...init, signal });
    state.deadlines.set(response, deadline);
    return response;
  } catch (cause) {
    const timedOut = deadline.signal.aborted;
    throw sendFailure(cause, url, { timedOut, headersTimeoutMs: state.headersTimeoutMs, spent });
  } finally {
    clearTimeout(timer);
  }
}

/** The typed error for a request that got no response; it says whether the call has paid. */
function sendFailure(
  cause: unknown,
  url: URL,
  how: { timedOut: boolean; headersTimeoutMs: number; spent: PaymentReceipt | undefined },
): L402Error {
  const { timedOut, headersTimeoutMs, spent } = how;
  const denial = timedOut ? undefined : policyDenial(cause);
  const rule = denial?.message.replace(CONNECT_DENIAL, '').replace(/\.$/, '');
  if (spent) {
    const problem = timedOut
      ? `no response came within ${formatDuration(headersTimeoutMs)}`
      : denial
        ? `the policy refused the connection (${rule})`
        : `the request failed (${describe(cause)})`;
    return deliveryError(spent, problem, { cause: denial ?? cause, timedOut });
  }
  if (timedOut) {
    return new RequestTimeoutError(
      `No response from ${redactUrl(url)} within ${formatDuration(headersTimeoutMs)}. Nothing was paid.`,
      { url: redactUrl(url), cause },
    );
  }
  if (denial) {
    return new PolicyDeniedError(
      `Policy denied ${redactUrl(url)} when connecting: ${rule}. Nothing was paid.`,
      { url: redactUrl(url), cause: denial },
    );
  }
  return new RequestFailedError(
    `The request to ${url.origin} failed: ${describe(cause)}. Nothing was paid.`,
    { url: redactUrl(url), cause },
  );
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
export function describe(error: unknown, input?: RequestInfo | URL): string {
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
