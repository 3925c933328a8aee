import { formatMsat } from '../amount.js';
import { canonicalOrigin } from '../canonical-host.js';
import { InvalidOptionError, PaymentLoopRefusedError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { type PaymentLoop, PaymentLoopBook, paymentLoopTarget } from '../tokens/payment-loops.js';
import {
  type StoredToken,
  type TokenScope,
  type TokenStore,
  tokenKey,
} from '../tokens/token-store.js';

export interface PaymentLoopOptions {
  /**
   * How long after its last loop a resource (or origin) may be paid again. Default: none, it
   * stays refused until an operator clears the record.
   */
  cooldownMs?: number;
  /** After this many payment loops on one origin, every resource there is refused. Default 2. */
  perOrigin?: number;
}

/** Remembers payment loops and refuses to pay where one happened (see `PaymentLoop`). */
export interface PaymentLoopGuard {
  /**
   * Throws `PaymentLoopRefusedError` (nothing paid) when the resource or its origin looped, or
   * a resource that redirected here (`redirectedFrom`, this call's earlier hops) did.
   */
  refuseIfLooped(
    url: URL,
    method: string,
    displayUrl: string,
    redirectedFrom?: readonly { url: URL; method: string }[],
  ): Promise<void>;
  /** Records that paying `token` was answered with another 402; true when it was recorded. */
  record(token: StoredToken): Promise<boolean>;
  list(): Promise<PaymentLoop[]>;
  /** Forgets a record by its key, or every record of the origin of a URL, or all; returns how many. */
  clear(target?: string | URL): Promise<number>;
}

const CLEAR_HINT =
  'an operator clears it (paidFetch.clearPaymentLoops(), or `l402kit tokens loops clear`)';

export function createPaymentLoopGuard(
  store: TokenStore,
  scope: TokenScope,
  options: PaymentLoopOptions = {},
): PaymentLoopGuard {
  const cooldownMs = options.cooldownMs;
  if (cooldownMs !== undefined && !(cooldownMs >= 0)) {
    throw new InvalidOptionError(
      'paymentLoops.cooldownMs must be a number of milliseconds, 0 or more.',
    );
  }
  const perOrigin = options.perOrigin ?? 2;
  if (!Number.isSafeInteger(perOrigin) || perOrigin < 1) {
    throw new InvalidOptionError('paymentLoops.perOrigin must be a whole number, 1 or more.');
  }
  // A store that cannot keep the records: they live as long as this paid fetch.
  const local = new PaymentLoopBook();
  const records = {
    record: store.recordPaymentLoop?.bind(store) ?? (async (report) => local.record(report)),
    get: store.getPaymentLoop?.bind(store) ?? (async (key: string) => local.get(key)),
    list: store.listPaymentLoops?.bind(store) ?? (async () => local.values()),
    clear: store.clearPaymentLoops?.bind(store) ?? (async (target?: string) => local.clear(target)),
  } satisfies Record<string, (...args: never[]) => Promise<unknown>>;

  const active = (loop: PaymentLoop | undefined, now: number): loop is PaymentLoop =>
    loop !== undefined && (cooldownMs === undefined || loop.lastAt + cooldownMs > now);

  const refusal = (loop: PaymentLoop, what: string, displayUrl: string) => {
    const until =
      cooldownMs === undefined
        ? `It stays refused until ${CLEAR_HINT}.`
        : `It may be paid again after ${new Date(loop.lastAt + cooldownMs).toISOString()}, or once ${CLEAR_HINT}.`;
    return new PaymentLoopRefusedError(
      `l402kit refuses to pay for ${displayUrl}: ${what} answered 402 again after being paid (${loop.count} payment loop${loop.count === 1 ? '' : 's'}, ${formatMsat(loop.amountMsat)} paid for nothing, the last at ${new Date(loop.lastAt).toISOString()}). Nothing was paid. ${until}`,
      { paid: false, url: displayUrl },
    );
  };

  return {
    async refuseIfLooped(url, method, displayUrl, redirectedFrom = []) {
      const now = Date.now();
      const resource = await records.get(tokenKey(url, method, scope));
      if (active(resource, now)) throw refusal(resource, 'this resource', displayUrl);
      for (const from of redirectedFrom) {
        // Paid for, then sent here to be asked again: the loop was recorded against it.
        const loop = await records.get(tokenKey(from.url, from.method, scope));
        if (active(loop, now)) {
          throw refusal(loop, `${redactUrl(from.url)}, which redirects here,`, displayUrl);
        }
      }
      const origin = await records.get(canonicalOrigin(url));
      if (active(origin, now) && origin.count >= perOrigin) {
        throw refusal(origin, `its origin ${origin.origin}`, displayUrl);
      }
    },

    async record(token) {
      const report = {
        origin: token.origin,
        amountMsat: token.amountMsat + token.feeMsat,
        paymentHash: token.paymentHash,
        at: Date.now(),
      };
      try {
        await records.record({
          ...report,
          key: token.key,
          scope: token.scope,
          ...(token.method === undefined ? {} : { method: token.method }),
        });
        await records.record({ ...report, key: token.origin });
        return true;
      } catch {
        // The loop error still reaches the caller; a store that cannot write says so elsewhere.
        return false;
      }
    },

    list: () => records.list(),
    clear: (target) => records.clear(target === undefined ? undefined : paymentLoopTarget(target)),
  };
}
