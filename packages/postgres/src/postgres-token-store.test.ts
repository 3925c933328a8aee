import { inspect } from 'node:util';
import { MemoryTokenStore, type StoredToken, type TokenScope, tokenTarget } from '@l402kit/core';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresTokenStore } from './postgres-token-store.js';
import { migrate } from './schema.js';
import { poolLosingAnswers, startTestDatabase, type TestDatabase } from './test-support.js';

const MACAROON = 'AgEEbHNhdAJCAAD3macaroonsecret';
const PREIMAGE = 'ab'.repeat(32);

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await startTestDatabase();
  pool = database.pool({ max: 10 });
}, 120_000);
afterAll(() => database?.close());

async function freshSchema() {
  const schema = database.freshSchema();
  await migrate(pool, { schema });
  return schema;
}

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

function pending(url: string, paymentHash: string, createdAt = 2_000): StoredToken {
  const { preimage: _preimage, ...token } = makeToken(url, 'GET', 'path', {
    paymentHash,
    state: 'pending',
    createdAt,
  });
  return token;
}

describe('PostgresTokenStore', () => {
  it('finds, claims, replaces and deletes exactly as the memory store does', async () => {
    const schema = await freshSchema();
    // Few keys, so that operations often meet the same one.
    const url = fc.constantFrom(
      'https://a.test/v1/search',
      'https://a.test/v1',
      'http://a.test/v1/search',
    );
    const token = fc.record({
      url,
      method: fc.constantFrom('GET', '*'),
      scope: fc.constantFrom<TokenScope>('path', 'prefix:/v1'),
      state: fc.constantFrom<'paid' | 'pending'>('paid', 'pending'),
      createdAt: fc.integer({ min: 0, max: 100 }),
      expiresAt: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
      hash: fc.constantFrom('01', '02', '03'),
    });
    const operation = fc.oneof(
      fc.record({ kind: fc.constantFrom('put' as const, 'claim' as const), token }),
      fc.record({
        kind: fc.constant('find' as const),
        url,
        method: fc.constantFrom('GET', 'POST'),
      }),
      fc.record({ kind: fc.constant('delete' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 60 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 20 }), async (operations) => {
        const clock = { now: 50 };
        const memory = new MemoryTokenStore({ now: () => clock.now });
        const postgres = new PostgresTokenStore(pool, { schema, now: () => clock.now });
        await postgres.clear();
        const keys: string[] = [];
        for (const op of operations) {
          if (op.kind === 'tick') clock.now += op.ms;
          else if (op.kind === 'find') {
            const request = new URL(op.url);
            const [a, b] = [
              await memory.find(request, op.method),
              await postgres.find(request, op.method),
            ];
            expect(b?.key).toBe(a?.key);
            expect(b?.createdAt).toBe(a?.createdAt);
          } else if (op.kind === 'delete') {
            const key = keys[op.which % Math.max(keys.length, 1)];
            if (key !== undefined) {
              await memory.delete(key);
              await postgres.delete(key);
            }
          } else {
            const made = makeToken(op.token.url, op.token.method, op.token.scope, {
              state: op.token.state,
              createdAt: op.token.createdAt,
              paymentHash: op.token.hash.repeat(32),
              ...(op.token.expiresAt === undefined ? {} : { expiresAt: op.token.expiresAt }),
            });
            if (made.state === 'pending') delete made.preimage;
            keys.push(made.key);
            if (op.kind === 'put') {
              await memory.put(made);
              await postgres.put(made);
            } else if (made.state === 'pending') {
              const [a, b] = [await memory.claim(made), await postgres.claim(made)];
              expect(b.claimed).toBe(a.claimed);
              if (!a.claimed && !b.claimed)
                expect(b.existing.paymentHash).toBe(a.existing.paymentHash);
            }
          }
        }
        const sorted = (tokens: StoredToken[]) => tokens.map((each) => JSON.stringify(each)).sort();
        expect(sorted(await postgres.list())).toEqual(sorted(await memory.list()));
      }),
      { numRuns: 50 },
    );
  }, 120_000);

  it('lets exactly one of many workers claim a resource, and the others see its payment', async () => {
    const schema = await freshSchema();
    const stores = Array.from(
      { length: 4 },
      () => new PostgresTokenStore(database.pool({ max: 5 }), { schema }),
    );
    const url = 'https://a.test/report';
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        stores[index % 4]!.claim(pending(url, index.toString(16).padStart(2, '0').repeat(32))),
      ),
    );
    const winners = results.filter((result) => result.claimed);
    expect(winners).toHaveLength(1);
    const stored = await stores[0]!.get(makeToken(url).key);
    for (const result of results) {
      if (!result.claimed) expect(result.existing.paymentHash).toBe(stored?.paymentHash);
    }
  });

  it('takes over a paid token that expired, never one that has not, nor a pending one', async () => {
    const schema = await freshSchema();
    const clock = { now: 10_000 };
    const store = new PostgresTokenStore(pool, { schema, now: () => clock.now });
    const url = 'https://a.test/report';
    await store.put(makeToken(url, 'GET', 'path', { expiresAt: 10_500 }));
    expect(await store.claim(pending(url, '11'.repeat(32)))).toMatchObject({ claimed: false });
    clock.now = 10_500;
    expect(await store.claim(pending(url, '22'.repeat(32)))).toEqual({ claimed: true });
    expect(await store.claim(pending(url, '33'.repeat(32)))).toMatchObject({
      claimed: false,
      existing: { paymentHash: '22'.repeat(32), state: 'pending' },
    });
  });

  it('counts its own claim once when the answer to it was lost', async () => {
    const schema = await freshSchema();
    // The server runs the claim, then the connection drops before the answer arrives.
    const flaky = poolLosingAnswers(pool, (text) => text.includes('ON CONFLICT'));
    const store = new PostgresTokenStore(flaky, { schema });
    const token = pending('https://a.test/report', '44'.repeat(32));
    expect(await store.claim(token)).toEqual({ claimed: true });
    // Another worker's claim for the same resource still loses.
    expect(await store.claim(pending('https://a.test/report', '55'.repeat(32)))).toMatchObject({
      claimed: false,
      existing: { paymentHash: '44'.repeat(32) },
    });
  });

  it('shares payment-loop records, counting each looping payment once across workers', async () => {
    const schema = await freshSchema();
    const [one, two] = [
      new PostgresTokenStore(database.pool(), { schema }),
      new PostgresTokenStore(database.pool(), { schema }),
    ];
    const report = (hash: string, at: number) => ({
      key: 'https://a.test GET /report',
      origin: 'https://a.test',
      scope: '/report',
      method: 'GET',
      amountMsat: 1_000n,
      paymentHash: hash.repeat(32),
      at,
    });
    await Promise.all([
      one.recordPaymentLoop(report('aa', 10)),
      two.recordPaymentLoop(report('aa', 10)),
    ]);
    const loop = await two.recordPaymentLoop(report('bb', 20));
    expect(loop).toMatchObject({ count: 2, amountMsat: 2_000n, firstAt: 10, lastAt: 20 });
    expect(await one.getPaymentLoop(loop.key)).toEqual(loop);
    expect(await one.listPaymentLoops()).toEqual([loop]);
    expect(await two.clearPaymentLoops('https://a.test/elsewhere')).toBe(1);
    expect(await one.listPaymentLoops()).toEqual([]);
  });

  it('stores times with a fraction of a millisecond as whole milliseconds, as SQLite does', async () => {
    const store = new PostgresTokenStore(pool, { schema: await freshSchema() });
    const token = makeToken('https://a.test/fraction', 'GET', 'path', {
      createdAt: 1_700_000_000_000.75,
      expiresAt: 4_000_000_000_000.5,
    });
    await store.put(token);
    expect(await store.get(token.key)).toMatchObject({
      createdAt: 1_700_000_000_000,
      expiresAt: 4_000_000_000_000,
    });
    // A claim whose answer was lost still recognises its own row after the truncation.
    const claimed = pending('https://a.test/claim', '66'.repeat(32), 1_700_000_000_000.5);
    const flaky = poolLosingAnswers(pool, (text) => text.includes('ON CONFLICT'));
    const schema = await freshSchema();
    expect(await new PostgresTokenStore(flaky, { schema }).claim(claimed)).toEqual({
      claimed: true,
    });
  });

  it('keeps macaroon and preimage out of JSON and inspection', async () => {
    const store = new PostgresTokenStore(pool, { schema: await freshSchema() });
    await store.put(makeToken('https://a.test/report'));
    const [token] = await store.list();
    expect(token?.macaroon).toBe(MACAROON);
    for (const text of [
      JSON.stringify(token),
      inspect(token),
      JSON.stringify(await store.list()),
    ]) {
      expect(text).not.toContain(MACAROON);
      expect(text).not.toContain(PREIMAGE);
    }
  });

  it('refuses tokens that could be misused, writing nothing', async () => {
    const store = new PostgresTokenStore(pool, { schema: await freshSchema() });
    await expect(
      store.put({ ...makeToken('https://a.test/x'), origin: 'javascript:alert(1)' }),
    ).rejects.toThrow(RangeError);
    await expect(store.claim(makeToken('https://a.test/x'))).rejects.toThrow(/only a pending/);
    expect(await store.list()).toEqual([]);
  });
});
