import type { Msat } from '../amount.js';
import { canonicalOrigin } from '../canonical-host.js';
import { type PaymentLoop, PaymentLoopBook, type PaymentLoopReport } from './payment-loops.js';

/**
 * A bought L402 token. Stored as `pending` before the invoice is paid (so a crash cannot
 * forget a payment in flight) and as `paid` once the preimage is known.
 */
export interface StoredToken {
  /** From `tokenKey`: origin, method and scope. One token per key. */
  key: string;
  /**
   * scheme://host[:port] with the host canonical (`canonicalOrigin`: no trailing dot, IPv4-mapped
   * IPv6 as IPv4), a valid `URL.origin`; a token is never sent to another origin.
   */
  origin: string;
  /** The paths it covers: an exact path ("/v1/search") or "prefix:/v1" (see `scopeCovers`). */
  scope: string;
  /** Upper-case HTTP method it is limited to; absent: any method. */
  method?: string;
  scheme: 'L402' | 'LSAT';
  /** Secret: never logged or printed. */
  macaroon: string;
  /** Secret: 64 lower-case hex characters, known once paid. */
  preimage?: string;
  paymentHash: string;
  invoice: string;
  amountMsat: Msat;
  feeMsat: Msat;
  state: 'pending' | 'paid';
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Milliseconds since the epoch, from the macaroon's `_valid_until` caveat. */
  expiresAt?: number;
}

export interface TokenStore {
  get(key: string): Promise<StoredToken | undefined>;
  /**
   * A paid, unexpired token whose origin is the URL's `canonicalOrigin` (scheme, host and port), whose
   * scope covers the URL's path (the query is ignored) and whose method, if any, matches.
   * The most specific scope wins, then the newest token.
   */
  find(url: URL, method: string): Promise<StoredToken | undefined>;
  put(token: StoredToken): Promise<void>;
  /**
   * Records a pending token (written just before paying) only if its key holds neither a
   * pending token nor a paid one that has not expired; otherwise returns that token and
   * writes nothing. Check and write must be one atomic step for every process sharing the
   * store (the file store does both under its lock): this is what keeps two processes that
   * meet the same 402 at the same moment from both paying. Optional for custom stores; without
   * it the paid fetch uses `put`, which is safe only within one process.
   */
  claim?(token: StoredToken): Promise<ClaimResult>;
  delete(key: string): Promise<void>;
  list(): Promise<StoredToken[]>;
  /** Removes every token (payment-loop records stay: see `clearPaymentLoops`). */
  clear(): Promise<void>;
  /**
   * Payment-loop records (see `PaymentLoop`): a resource or origin that answered 402 again
   * after it was paid, which the paid fetch then refuses to pay again. A store shared by
   * several processes keeps them for all of them (the memory and file stores do); without
   * these four methods the paid fetch keeps the records in its own memory only.
   * `recordPaymentLoop` adds one loop to the record under `report.key` (one read-modify-write
   * for every process sharing the store) and returns the record; a report with the payment
   * hash already counted there changes nothing.
   */
  recordPaymentLoop?(report: PaymentLoopReport): Promise<PaymentLoop>;
  getPaymentLoop?(key: string): Promise<PaymentLoop | undefined>;
  listPaymentLoops?(): Promise<PaymentLoop[]>;
  /**
   * Forgets the records `paymentLoopTarget(target)` names (one record by its key, or every
   * record of a URL's or origin's canonical origin), or every record; returns how many.
   */
  clearPaymentLoops?(target?: string): Promise<number>;
}

/** What `TokenStore.claim` did: wrote the pending token, or found the key held by `existing`. */
export type ClaimResult = { claimed: true } | { claimed: false; existing: StoredToken };

/** Checks a token before it is claimed: a valid token, and a pending one. */
export function validateClaim(token: StoredToken): void {
  validateToken(token);
  if (token.state !== 'pending') {
    throw new RangeError(`invalid claim ${token.key}: only a pending token can be claimed`);
  }
}

/**
 * What a bought token may be reused for: `path` the exact path it was bought for (default),
 * `origin` every path of the origin, `prefix:/x` the paths "/x" and "/x/...". A prefix that
 * does not cover the bought path falls back to the exact path.
 */
export type TokenScope = 'path' | 'origin' | `prefix:/${string}`;

/** The `scope` string stored with a token bought for `url`. */
export function tokenScope(url: URL, scope: TokenScope = 'path'): string {
  if (scope === 'origin') return 'prefix:/';
  if (scope === 'path') return url.pathname;
  if (typeof scope === 'string' && scope.startsWith('prefix:/')) {
    return scopeCovers(scope, url.pathname) ? scope : url.pathname;
  }
  throw new RangeError(
    `token scope must be "path", "origin" or "prefix:/<path>", got ${String(scope)}`,
  );
}

/**
 * The store key for a token bought for `url` with `method` (undefined: any method). Two
 * purchases with the same key are the same resource, so it doubles as the single-flight key.
 */
export function tokenKey(url: URL, method: string | undefined, scope: TokenScope = 'path'): string {
  return `${requireOrigin(url)} ${method === undefined ? '*' : method.toUpperCase()} ${tokenScope(url, scope)}`;
}

/** The key, origin, scope and method fields of a token bought for `url`, to spread into a `StoredToken`. */
export function tokenTarget(
  url: URL,
  method: string | undefined,
  scope: TokenScope = 'path',
): Pick<StoredToken, 'key' | 'origin' | 'scope' | 'method'> {
  const target: Pick<StoredToken, 'key' | 'origin' | 'scope' | 'method'> = {
    key: tokenKey(url, method, scope),
    origin: requireOrigin(url),
    scope: tokenScope(url, scope),
  };
  if (method !== undefined) target.method = method.toUpperCase();
  return target;
}

/** Whether a stored scope covers `pathname`: exact equality, or a prefix on a segment boundary. */
export function scopeCovers(scope: string, pathname: string): boolean {
  if (!scope.startsWith('prefix:')) return scope === pathname;
  const prefix = scope.slice('prefix:'.length);
  return pathname === prefix || pathname.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

/** Whether `token` may be sent with a request to `url` with `method` at time `now`. */
export function isTokenUsable(
  token: StoredToken,
  url: URL,
  method: string,
  now = Date.now(),
): boolean {
  return (
    url.origin !== 'null' &&
    token.origin === canonicalOrigin(url) &&
    scopeCovers(token.scope, url.pathname) &&
    isTokenLive(token, method.toUpperCase(), now)
  );
}

/** Paid, with its preimage, for `upperMethod` (or any method) and not expired at `now`. */
function isTokenLive(token: StoredToken, upperMethod: string, now: number): boolean {
  return (
    token.state === 'paid' &&
    typeof token.preimage === 'string' &&
    token.preimage !== '' &&
    (token.method === undefined || token.method === upperMethod) &&
    (token.expiresAt === undefined || token.expiresAt > now)
  );
}

/** A token without its secrets, for listings and logs. */
export type RedactedToken = Omit<StoredToken, 'macaroon' | 'preimage'> & {
  macaroon: '[redacted]';
  preimage?: '[redacted]';
};

export function redactToken(token: StoredToken): RedactedToken {
  const { macaroon: _macaroon, preimage, ...rest } = token;
  const redacted: RedactedToken = { ...rest, macaroon: '[redacted]' };
  if (preimage !== undefined) redacted.preimage = '[redacted]';
  return redacted;
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

// The redacting views live on a shared prototype: non-enumerable, so spreads copy only data,
// and free per token, which matters when a file holds 100,000 of them.
const protectedTokenPrototype = Object.freeze({
  toJSON(this: StoredToken) {
    const redacted = redactToken(this);
    return {
      ...redacted,
      amountMsat: String(redacted.amountMsat),
      feeMsat: String(redacted.feeMsat),
    };
  },
  [inspectSymbol](this: StoredToken) {
    return redactToken(this);
  },
});

/**
 * A frozen copy of `token` whose `JSON.stringify` (amounts as decimal strings) and
 * `console.log`/`util.inspect` output hide the macaroon and preimage. Stores hand out only
 * such copies.
 */
export function protectToken(token: StoredToken): StoredToken {
  return Object.freeze(Object.assign(Object.create(protectedTokenPrototype) as StoredToken, token));
}

/** Checks a token before it is stored, so that a store never holds one `find` could misuse. */
export function validateToken(token: StoredToken, knownOrigins?: Set<string>): void {
  const fail = (what: string): never => {
    throw new RangeError(
      `invalid token ${typeof token?.key === 'string' ? token.key : ''}: ${what}`,
    );
  };
  if (token === null || typeof token !== 'object') fail('not an object');
  if (typeof token.key !== 'string' || token.key === '') fail('key must be a non-empty string');
  if (!knownOrigins?.has(token.origin)) {
    let origin: string | undefined;
    try {
      origin = new URL(token.origin).origin;
    } catch {}
    if (origin !== token.origin || !/^https?:\/\//.test(token.origin)) {
      fail('origin must be an http(s) origin exactly as URL.origin gives it');
    }
    knownOrigins?.add(token.origin);
  }
  if (typeof token.scope !== 'string' || !/^(prefix:)?\//.test(token.scope)) {
    fail('scope must be a path or "prefix:/<path>" (see tokenScope)');
  }
  if (
    token.method !== undefined &&
    (typeof token.method !== 'string' || token.method !== token.method.toUpperCase())
  ) {
    fail('method must be upper case');
  }
  if (token.scheme !== 'L402' && token.scheme !== 'LSAT') fail('scheme must be L402 or LSAT');
  if (typeof token.macaroon !== 'string' || token.macaroon === '') fail('macaroon missing');
  if (
    token.preimage !== undefined &&
    (typeof token.preimage !== 'string' || !/^[0-9a-f]{64}$/.test(token.preimage))
  ) {
    fail('preimage must be 64 lower-case hex characters');
  }
  if (token.state === 'paid' && token.preimage === undefined)
    fail('a paid token needs its preimage');
  if (token.state !== 'paid' && token.state !== 'pending') fail('state must be pending or paid');
  if (typeof token.paymentHash !== 'string' || !/^[0-9a-f]{64}$/.test(token.paymentHash)) {
    fail('paymentHash must be 64 lower-case hex characters');
  }
  if (typeof token.invoice !== 'string') fail('invoice must be a string');
  for (const field of ['amountMsat', 'feeMsat'] as const) {
    if (typeof token[field] !== 'bigint' || token[field] < 0n)
      fail(`${field} must be a non-negative bigint`);
  }
  if (!Number.isFinite(token.createdAt)) fail('createdAt must be a time in milliseconds');
  if (token.expiresAt !== undefined && !Number.isFinite(token.expiresAt)) {
    fail('expiresAt must be a time in milliseconds');
  }
}

/**
 * Tokens by key with an index by origin and scope, so `find` costs O(path depth) however
 * many tokens there are. Shared by the memory and file stores.
 */
export class TokenIndex {
  readonly #tokens = new Map<string, StoredToken>();
  // origin -> scope -> keys
  readonly #byOrigin = new Map<string, Map<string, Set<string>>>();
  /** Payment-loop records, kept with the tokens so that a file store writes both in one step. */
  readonly loops: PaymentLoopBook;

  constructor(tokens: Iterable<StoredToken> = [], loops: Iterable<PaymentLoop> = []) {
    for (const token of tokens) this.set(token);
    this.loops = new PaymentLoopBook(loops);
  }

  get size(): number {
    return this.#tokens.size;
  }

  get(key: string): StoredToken | undefined {
    return this.#tokens.get(key);
  }

  values(): StoredToken[] {
    return [...this.#tokens.values()];
  }

  /** Stores a protected copy of `token`, replacing any token with the same key. */
  set(token: StoredToken): void {
    this.delete(token.key);
    const stored = protectToken(token);
    this.#tokens.set(stored.key, stored);
    let scopes = this.#byOrigin.get(stored.origin);
    if (scopes === undefined) {
      scopes = new Map();
      this.#byOrigin.set(stored.origin, scopes);
    }
    let keys = scopes.get(stored.scope);
    if (keys === undefined) {
      keys = new Set();
      scopes.set(stored.scope, keys);
    }
    keys.add(stored.key);
  }

  /** Sets `token` unless its key holds a pending token or an unexpired paid one (see `TokenStore.claim`). */
  claim(token: StoredToken, now: number): ClaimResult {
    const existing = this.#tokens.get(token.key);
    if (
      existing !== undefined &&
      (existing.state === 'pending' || existing.expiresAt === undefined || existing.expiresAt > now)
    ) {
      return { claimed: false, existing };
    }
    this.set(token);
    return { claimed: true };
  }

  delete(key: string): boolean {
    const existing = this.#tokens.get(key);
    if (existing === undefined) return false;
    this.#tokens.delete(key);
    const scopes = this.#byOrigin.get(existing.origin);
    const keys = scopes?.get(existing.scope);
    keys?.delete(key);
    if (keys?.size === 0) scopes?.delete(existing.scope);
    if (scopes?.size === 0) this.#byOrigin.delete(existing.origin);
    return true;
  }

  clear(): void {
    this.#tokens.clear();
    this.#byOrigin.clear();
  }

  find(url: URL, method: string, now: number): StoredToken | undefined {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    const scopes = this.#byOrigin.get(canonicalOrigin(url));
    if (scopes === undefined) return undefined;
    const upperMethod = method.toUpperCase();
    const pathname = url.pathname;
    // Most specific first: the exact path, then prefixes from the longest to "/". A token
    // filed under this origin and a covering scope matches both; the rest is checked here.
    const exact = scopes.get(pathname);
    if (exact !== undefined) {
      const best = this.#newestLive(exact, upperMethod, now);
      if (best !== undefined) return best;
    }
    for (const scope of coveringScopes(pathname)) {
      if (scope === pathname) continue;
      const keys = scopes.get(scope);
      if (keys === undefined) continue;
      const best = this.#newestLive(keys, upperMethod, now);
      if (best !== undefined) return best;
    }
    return undefined;
  }

  #newestLive(keys: Set<string>, upperMethod: string, now: number): StoredToken | undefined {
    let best: StoredToken | undefined;
    for (const key of keys) {
      const token = this.#tokens.get(key)!;
      if (
        isTokenLive(token, upperMethod, now) &&
        (best === undefined || token.createdAt > best.createdAt)
      ) {
        best = token;
      }
    }
    return best;
  }
}

/** Every scope string that covers pathname, most specific first. */
export function* coveringScopes(pathname: string): Generator<string> {
  yield pathname;
  yield `prefix:${pathname}`;
  let end = pathname.length;
  while (end > 0) {
    const slash = pathname.lastIndexOf('/', end - 1);
    if (slash < 0) break;
    const directory = pathname.slice(0, slash + 1);
    if (directory !== pathname) yield `prefix:${directory}`;
    if (slash > 0) yield `prefix:${pathname.slice(0, slash)}`;
    end = slash;
  }
}

/** The default store: tokens live as long as the process. */
export class MemoryTokenStore implements TokenStore {
  readonly #index = new TokenIndex();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<StoredToken | undefined> {
    return this.#index.get(key);
  }

  async find(url: URL, method: string): Promise<StoredToken | undefined> {
    return this.#index.find(url, method, this.#now());
  }

  async put(token: StoredToken): Promise<void> {
    validateToken(token);
    this.#index.set(token);
  }

  async claim(token: StoredToken): Promise<ClaimResult> {
    validateClaim(token);
    // No await between the check and the write: atomic within the process that owns the store.
    return this.#index.claim(token, this.#now());
  }

  async delete(key: string): Promise<void> {
    this.#index.delete(key);
  }

  async list(): Promise<StoredToken[]> {
    return this.#index.values();
  }

  async clear(): Promise<void> {
    this.#index.clear();
  }

  async recordPaymentLoop(report: PaymentLoopReport): Promise<PaymentLoop> {
    return this.#index.loops.record(report);
  }

  async getPaymentLoop(key: string): Promise<PaymentLoop | undefined> {
    return this.#index.loops.get(key);
  }

  async listPaymentLoops(): Promise<PaymentLoop[]> {
    return this.#index.loops.values();
  }

  async clearPaymentLoops(target?: string): Promise<number> {
    return this.#index.loops.clear(target);
  }
}

// Canonical, so that `shop.test.` and `shop.test`, or `[::ffff:7f00:1]` and `127.0.0.1`, share tokens.
function requireOrigin(url: URL): string {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RangeError(`tokens are only kept for http(s) URLs, not ${url.protocol}`);
  }
  return canonicalOrigin(url);
}
