import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MemoryTokenStore,
  redactToken,
  type StoredToken,
  scopeCovers,
  TokenIndex,
  type TokenScope,
  tokenKey,
  tokenScope,
  tokenTarget,
} from './token-store.js';

const MACAROON = 'AgEEbHNhdAJCAAD3macaroonsecret';
const PREIMAGE = 'ab'.repeat(32);

function makeToken(
  url: string,
  method = 'GET', // '*': any method
  scope: TokenScope = 'path',
  extra: Partial<StoredToken> = {},
): StoredToken {
  return {
    ...tokenTarget(new URL(url), method === '*' ? undefined : method, scope),
    scheme: 'L402',
    macaroon: MACAROON,
    preimage: PREIMAGE,
    paymentHash: 'cd'.repeat(32),
    invoice: 'lnbcrt10n1example',
    amountMsat: 1_000n,
    feeMsat: 3n,
    state: 'paid',
    createdAt: 1_000,
    ...extra,
  };
}

describe('token keys and scopes', () => {
  it('keys by origin, method and exact path, ignoring the query', () => {
    expect(tokenKey(new URL('https://API.example.com:443/v1/search?q=secret#x'), 'get')).toBe(
      'https://api.example.com GET /v1/search',
    );
    expect(tokenKey(new URL('http://localhost:8080/a'), undefined, 'origin')).toBe(
      'http://localhost:8080 * prefix:/',
    );
    expect(tokenKey(new URL('https://a.test/v1/x'), 'POST', 'prefix:/v1')).toBe(
      'https://a.test POST prefix:/v1',
    );
    // A prefix that does not cover the bought path would widen the token elsewhere: exact path instead.
    expect(tokenScope(new URL('https://a.test/v2/x'), 'prefix:/v1')).toBe('/v2/x');
    expect(() => tokenKey(new URL('https://a.test/'), 'GET', 'v1' as TokenScope)).toThrow(
      RangeError,
    );
    expect(() => tokenKey(new URL('ftp://a.test/'), 'GET')).toThrow(RangeError);
  });

  it('covers prefixes only on segment boundaries', () => {
    expect(scopeCovers('/v1/search', '/v1/search')).toBe(true);
    expect(scopeCovers('/v1/search', '/v1/search/')).toBe(false);
    expect(scopeCovers('/v1/search', '/v1/searchx')).toBe(false);
    expect(scopeCovers('prefix:/v1', '/v1')).toBe(true);
    expect(scopeCovers('prefix:/v1', '/v1/a/b')).toBe(true);
    expect(scopeCovers('prefix:/v1', '/v10')).toBe(false);
    expect(scopeCovers('prefix:/v1/', '/v1')).toBe(false);
    expect(scopeCovers('prefix:/', '/anything')).toBe(true);
  });

  it('finds through the index exactly what a scan with scopeCovers finds', () => {
    const segment = fc.constantFrom('a', 'b', 'ab', '');
    const path = fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
    const scope = fc.oneof(
      path,
      path.map((p) => `prefix:${p}`),
    );
    fc.assert(
      fc.property(fc.array(scope, { maxLength: 8 }), path, (scopes, requested) => {
        const index = new TokenIndex(
          scopes.map((each, i) => ({
            ...makeToken('https://a.test/'),
            key: `k${i}`,
            scope: each,
            createdAt: i,
          })),
        );
        const found = index.find(new URL(`https://a.test${requested}`), 'GET', 0);
        const covering = scopes.filter((each) =>
          scopeCovers(each, new URL(`https://a.test${requested}`).pathname),
        );
        expect(found === undefined).toBe(covering.length === 0);
        if (found !== undefined) expect(covering).toContain(found.scope);
      }),
    );
  });
});

describe('MemoryTokenStore.find', () => {
  it('never returns a token for another origin, scheme, port, path or method', async () => {
    const store = new MemoryTokenStore();
    await store.put(makeToken('https://api.example.com/v1/search'));
    const hit = await store.find(new URL('https://api.example.com/v1/search?q=other'), 'get');
    expect(hit?.macaroon).toBe(MACAROON);
    expect(await store.find(new URL('https://api.example.com:443/v1/search'), 'GET')).toBeDefined();
    for (const miss of [
      'http://api.example.com/v1/search',
      'https://api.example.com:8443/v1/search',
      'https://evil.example.com/v1/search',
      'https://api.example.com.evil.net/v1/search',
      'https://example.com/v1/search',
      'https://api.example.com/v1/search/',
      'https://api.example.com/v1/other',
      'https://api.example.com/v1',
    ]) {
      expect(await store.find(new URL(miss), 'GET'), miss).toBeUndefined();
    }
    expect(await store.find(new URL('https://api.example.com/v1/search'), 'POST')).toBeUndefined();
  });

  it('uses origin and prefix scopes within their origin only', async () => {
    const store = new MemoryTokenStore();
    await store.put(makeToken('https://a.test/v1/x', '*', 'prefix:/v1'));
    await store.put(makeToken('http://localhost:3000/', 'GET', 'origin'));
    expect(await store.find(new URL('https://a.test/v1/deep/path'), 'DELETE')).toBeDefined();
    expect(await store.find(new URL('https://a.test/v2'), 'GET')).toBeUndefined();
    expect(await store.find(new URL('http://localhost:3000/any/path'), 'GET')).toBeDefined();
    expect(await store.find(new URL('http://localhost:3001/any/path'), 'GET')).toBeUndefined();
    expect(await store.find(new URL('http://127.0.0.1:3000/any/path'), 'GET')).toBeUndefined();
  });

  it('skips pending and expired tokens and prefers the most specific, then the newest', async () => {
    let now = 5_000;
    const store = new MemoryTokenStore({ now: () => now });
    const url = new URL('https://a.test/v1/x');
    await store.put({
      ...makeToken(url.href, 'GET', 'path', { state: 'pending', createdAt: 9_000 }),
      preimage: undefined,
    });
    expect(await store.find(url, 'GET')).toBeUndefined();
    expect((await store.get(tokenKey(url, 'GET')))?.state).toBe('pending');

    await store.put(makeToken(url.href, 'GET', 'origin', { expiresAt: 6_000, createdAt: 1 }));
    await store.put(makeToken(url.href, 'GET', 'prefix:/v1', { expiresAt: 7_000, createdAt: 2 }));
    expect((await store.find(url, 'GET'))?.scope).toBe('prefix:/v1');
    now = 7_000;
    expect((await store.find(url, 'GET'))?.scope).toBeUndefined();
    now = 5_000;
    await store.put(makeToken(url.href, 'GET', 'path', { createdAt: 3 }));
    expect((await store.find(url, 'GET'))?.scope).toBe('/v1/x');
    await store.delete(tokenKey(url, 'GET'));
    expect((await store.find(url, 'GET'))?.scope).toBe('prefix:/v1');
    expect(await store.list()).toHaveLength(2);
    await store.clear();
    expect(await store.list()).toEqual([]);
    expect(await store.find(url, 'GET')).toBeUndefined();
  });

  it('replaces a token with the same key, e.g. pending then paid', async () => {
    const store = new MemoryTokenStore();
    const { preimage: _, ...pending } = makeToken('https://a.test/x', 'GET', 'path', {
      state: 'pending',
    });
    await store.put(pending);
    await store.put(makeToken('https://a.test/x'));
    expect(await store.list()).toHaveLength(1);
    expect((await store.find(new URL('https://a.test/x'), 'GET'))?.state).toBe('paid');
  });

  it('refuses tokens that could be misused', async () => {
    const store = new MemoryTokenStore();
    const good = makeToken('https://a.test/x');
    for (const bad of [
      { ...good, origin: 'https://a.test/' },
      { ...good, origin: 'https://A.test' },
      { ...good, origin: 'ftp://a.test' },
      { ...good, scope: good.key },
      { ...good, method: 'get' },
      { ...good, preimage: undefined },
      { ...good, preimage: 'AB'.repeat(32) },
      { ...good, amountMsat: 1 as unknown as bigint },
      { ...good, state: 'done' as 'paid' },
      { ...good, key: '' },
    ]) {
      await expect(store.put(bad)).rejects.toThrow(RangeError);
    }
    expect(await store.list()).toEqual([]);
  });
});

describe('MemoryTokenStore.claim', () => {
  const pendingToken = (paymentHash: string, extra: Partial<StoredToken> = {}): StoredToken => {
    const { preimage: _, ...pending } = makeToken('https://a.test/x', 'GET', 'path', {
      state: 'pending',
      paymentHash,
      ...extra,
    });
    return pending;
  };

  it('writes a pending token only while its key holds no pending and no unexpired paid token', async () => {
    let now = 5_000;
    const store = new MemoryTokenStore({ now: () => now });
    const first = pendingToken('01'.repeat(32));
    expect(await store.claim(first)).toEqual({ claimed: true });
    expect(await store.get(first.key)).toEqual(first);

    // Held by a pending payment: refused, and the holder is handed back untouched.
    const second = pendingToken('02'.repeat(32));
    expect(await store.claim(second)).toEqual({ claimed: false, existing: first });
    expect((await store.get(first.key))?.paymentHash).toBe(first.paymentHash);

    // Held by a paid token: refused until it expires, then claimed over it.
    const paid = makeToken('https://a.test/x', 'GET', 'path', { expiresAt: 6_000 });
    await store.put(paid);
    expect(await store.claim(second)).toEqual({ claimed: false, existing: paid });
    now = 6_000;
    expect(await store.claim(second)).toEqual({ claimed: true });
    expect((await store.get(second.key))?.paymentHash).toBe(second.paymentHash);

    // Another key is independent.
    const other = { ...second, ...tokenTarget(new URL('https://a.test/y'), 'GET') };
    expect(await store.claim(other)).toEqual({ claimed: true });
    expect(await store.list()).toHaveLength(2);
  });

  it('lets exactly one of many concurrent claims for one key win', async () => {
    const store = new MemoryTokenStore();
    const claims = Array.from({ length: 20 }, (_, i) =>
      pendingToken(i.toString(16).padStart(2, '0').repeat(32)),
    );
    const results = await Promise.all(claims.map((token) => store.claim(token)));
    const winners = results.filter((result) => result.claimed);
    expect(winners).toHaveLength(1);
    const holder = await store.get(claims[0]!.key);
    for (const result of results) {
      if (!result.claimed) expect(result.existing).toBe(holder);
    }
  });

  it('claims only valid pending tokens', async () => {
    const store = new MemoryTokenStore();
    await expect(store.claim(makeToken('https://a.test/x'))).rejects.toThrow(RangeError);
    await expect(store.claim({ ...pendingToken('01'.repeat(32)), method: 'get' })).rejects.toThrow(
      RangeError,
    );
    expect(await store.list()).toEqual([]);
  });
});

describe('secrets', () => {
  it('keeps macaroon and preimage out of JSON, inspection and listings', async () => {
    const store = new MemoryTokenStore();
    await store.put(makeToken('https://a.test/x'));
    const [token] = await store.list();
    expect(token!.macaroon).toBe(MACAROON);
    for (const text of [
      JSON.stringify(token),
      inspect(token),
      inspect(await store.list(), { depth: 5 }),
    ]) {
      expect(text).not.toContain(MACAROON);
      expect(text).not.toContain(PREIMAGE);
      expect(text).toContain('[redacted]');
    }
    expect(redactToken(token!)).toMatchObject({
      macaroon: '[redacted]',
      preimage: '[redacted]',
      paymentHash: 'cd'.repeat(32),
      amountMsat: 1_000n,
    });
    // Stored tokens cannot be changed behind the store's back.
    expect(Object.isFrozen(token)).toBe(true);
  });
});
