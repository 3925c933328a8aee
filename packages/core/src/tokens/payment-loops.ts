import type { Msat } from '../amount.js';
import { canonicalOrigin } from '../canonical-host.js';

/**
 * A resource, or a whole origin, that answered 402 again after it was paid (a payment loop).
 * The paid fetch refuses to pay it again while the record stands: until an operator clears it,
 * or the configured cool-down has passed since `lastAt`.
 */
export interface PaymentLoop {
  /** The resource's `tokenKey`, or the canonical origin alone for the whole origin. */
  key: string;
  /** Canonical origin (`canonicalOrigin`). */
  origin: string;
  /** For a resource: the scope (path or "prefix:/...") its token was bought for; absent for an origin. */
  scope?: string;
  /** For a resource: the upper-case method its token was bought for, if limited to one. */
  method?: string;
  /** How many payments were answered with another 402. */
  count: number;
  /** What those payments cost, fees included. */
  amountMsat: Msat;
  /** The payment hash of the latest looping payment (a loop seen by two calls counts once). */
  paymentHash: string;
  /** Milliseconds since the epoch. */
  firstAt: number;
  lastAt: number;
}

/** One payment loop seen: what `TokenStore.recordPaymentLoop` adds to the record under `key`. */
export type PaymentLoopReport = Omit<PaymentLoop, 'count' | 'firstAt' | 'lastAt'> & {
  at: number;
};

/** Payment-loop records by key; shared by the memory and file stores. */
export class PaymentLoopBook {
  readonly #loops = new Map<string, PaymentLoop>();

  constructor(loops: Iterable<PaymentLoop> = []) {
    for (const loop of loops) this.#loops.set(loop.key, Object.freeze({ ...loop }));
  }

  get size(): number {
    return this.#loops.size;
  }

  /** Adds the report to its record; a report for the payment already counted changes nothing. */
  record(report: PaymentLoopReport): PaymentLoop {
    validatePaymentLoopReport(report);
    const existing = this.#loops.get(report.key);
    if (existing?.paymentHash === report.paymentHash) return existing;
    const { at, ...fields } = report;
    const loop: PaymentLoop = Object.freeze({
      ...fields,
      count: (existing?.count ?? 0) + 1,
      amountMsat: (existing?.amountMsat ?? 0n) + report.amountMsat,
      firstAt: existing?.firstAt ?? at,
      lastAt: Math.max(existing?.lastAt ?? at, at),
    });
    this.#loops.set(loop.key, loop);
    return loop;
  }

  get(key: string): PaymentLoop | undefined {
    return this.#loops.get(key);
  }

  values(): PaymentLoop[] {
    return [...this.#loops.values()];
  }

  /** Removes the records `paymentLoopTarget(target)` names, or all; returns how many. */
  clear(target?: string | URL): number {
    const keyOrOrigin = target === undefined ? undefined : paymentLoopTarget(target);
    let removed = 0;
    for (const loop of [...this.#loops.values()]) {
      if (keyOrOrigin === undefined || loop.key === keyOrOrigin || loop.origin === keyOrOrigin) {
        this.#loops.delete(loop.key);
        removed++;
      }
    }
    return removed;
  }
}

/**
 * What a request to clear payment loops names: a record key as given (resource keys hold
 * spaces: "origin METHOD scope"), or else the canonical origin of a URL or origin, which names
 * every record of that origin.
 */
export function paymentLoopTarget(target: string | URL): string {
  const text = String(target);
  if (text.includes(' ')) return text;
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return canonicalOrigin(url);
  } catch {}
  return text;
}

/** Checks a loop record read from storage. */
export function validatePaymentLoop(loop: PaymentLoop): void {
  const fail = (what: string): never => {
    throw new RangeError(`invalid payment loop record: ${what}`);
  };
  if (loop === null || typeof loop !== 'object') fail('not an object');
  validatePaymentLoopReport({ ...loop, at: loop.lastAt });
  if (!Number.isSafeInteger(loop.count) || loop.count < 1) fail('count must be a positive integer');
  if (!Number.isFinite(loop.firstAt) || !Number.isFinite(loop.lastAt)) {
    fail('firstAt and lastAt must be times in milliseconds');
  }
}

function validatePaymentLoopReport(report: PaymentLoopReport): void {
  const fail = (what: string): never => {
    throw new RangeError(`invalid payment loop report: ${what}`);
  };
  if (typeof report.key !== 'string' || report.key === '') fail('key must be a non-empty string');
  if (typeof report.origin !== 'string' || !/^https?:\/\//.test(report.origin)) {
    fail('origin must be an http(s) origin');
  }
  if (report.scope !== undefined && typeof report.scope !== 'string')
    fail('scope must be a string');
  if (report.method !== undefined && typeof report.method !== 'string') {
    fail('method must be a string');
  }
  if (typeof report.amountMsat !== 'bigint' || report.amountMsat < 0n) {
    fail('amountMsat must be a non-negative bigint');
  }
  if (typeof report.paymentHash !== 'string' || !/^[0-9a-f]{64}$/.test(report.paymentHash)) {
    fail('paymentHash must be 64 lower-case hex characters');
  }
  if (!Number.isFinite(report.at)) fail('at must be a time in milliseconds');
}
