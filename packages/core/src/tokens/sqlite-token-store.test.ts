import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../database/sqlite-database.js';
import { SqliteTokenStore } from './sqlite-token-store.js';
import { type StoredToken, tokenTarget } from './token-store.js';

const MACAROON = 'AgEEbHNhdAJCAAD3macaroonsecret';
const PREIMAGE = 'ab'.repeat(32);

function makeToken(path: string, extra: Partial<StoredToken> = {}): StoredToken {
  return {
    ...tokenTarget(new URL(`https://api.example.com${path}`), 'GET'),
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

let directory: string;
let path: string;
const open: SqliteDatabase[] = [];
const database = () => {
  const opened = openSqliteDatabase(path);
  open.push(opened);
  return opened;
};

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'l402kit-sqlite-tokens-'));
  path = join(directory, 'state', 'l402kit.db');
});
afterEach(async () => {
  for (const each of open.splice(0)) each.close();
  await rm(directory, { recursive: true, force: true });
});

describe('SqliteTokenStore', () => {
  it('persists tokens across connections with exact amounts, in a 0600 file in a 0700 directory', async () => {
    const big = 2n ** 64n + 7n;
    await new SqliteTokenStore(database()).put(
      makeToken('/a', { amountMsat: big, expiresAt: 9e12 }),
    );
    const { preimage: _, ...pending } = makeToken('/b', { state: 'pending' });
    await new SqliteTokenStore(database()).put(pending);

    const later = new SqliteTokenStore(database());
    const found = await later.find(new URL('https://api.example.com/a?x=1'), 'GET');
    expect(found).toMatchObject({ amountMsat: big, feeMsat: 3n, expiresAt: 9e12, state: 'paid' });
    expect(await later.find(new URL('https://api.example.com/b'), 'GET')).toBeUndefined();
    expect(await later.get(pending.key)).toEqual(pending);
    expect((await later.list()).map((token) => token.key)).toEqual([
      makeToken('/a').key,
      pending.key,
    ]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(directory, 'state'))).mode & 0o777).toBe(0o700);
  });

  it('never shows a secret when a token is printed or serialised', async () => {
    const store = new SqliteTokenStore(database());
    await store.put(makeToken('/a'));
    const found = await store.find(new URL('https://api.example.com/a'), 'GET');
    const printed = `${JSON.stringify(found)} ${inspect(found)} ${JSON.stringify(await store.list())}`;
    expect(printed).not.toContain(MACAROON);
    expect(printed).not.toContain(PREIMAGE);
    expect(found?.macaroon).toBe(MACAROON);
  });

  it('claims like the file store: a pending or unexpired paid token holds the key', async () => {
    let now = 10_000;
    const a = new SqliteTokenStore(database(), { now: () => now });
    const b = new SqliteTokenStore(database(), { now: () => now });
    const { preimage: _, ...first } = makeToken('/x', {
      state: 'pending',
      paymentHash: '01'.repeat(32),
    });
    const second = { ...first, paymentHash: '02'.repeat(32) };
    expect(await a.claim(first)).toEqual({ claimed: true });
    expect(await b.claim(second)).toEqual({ claimed: false, existing: first });
    // Paid, expiring at 20,000: still held until then, free to claim after.
    await a.put({ ...first, state: 'paid', preimage: PREIMAGE, expiresAt: 20_000 });
    expect(await b.claim(second)).toMatchObject({ claimed: false, existing: { state: 'paid' } });
    now = 20_001;
    expect(await b.claim(second)).toEqual({ claimed: true });
    expect(await a.get(first.key)).toEqual(second);
    await expect(a.claim(makeToken('/y'))).rejects.toThrow(/only a pending token/);
  });

  it('lets exactly one of many concurrent claims over two connections win', async () => {
    const stores = [new SqliteTokenStore(database()), new SqliteTokenStore(database())];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_item, index) => {
        const { preimage: _, ...pending } = makeToken('/race', {
          state: 'pending',
          paymentHash: index.toString(16).padStart(64, '0'),
        });
        return stores[index % 2]!.claim(pending);
      }),
    );
    expect(results.filter((result) => result.claimed)).toHaveLength(1);
  });

  it('finds the most specific scope, then the newest token, and drops what another process deleted', async () => {
    const writer = new SqliteTokenStore(database());
    // Looks at once whether another process wrote (see the next test for the default).
    const reader = new SqliteTokenStore(database(), { recheckMs: 0 });
    const url = new URL('https://api.example.com/v1/search/deep');
    await writer.put(
      makeToken('/v1', {
        ...tokenTarget(url, 'GET', 'prefix:/v1'),
        createdAt: 3,
        paymentHash: '03'.repeat(32),
      }),
    );
    await writer.put(makeToken('/v1/search/deep', { createdAt: 1, paymentHash: '01'.repeat(32) }));
    expect((await reader.find(url, 'GET'))?.paymentHash).toBe('01'.repeat(32));
    // Served again from memory: the same frozen object.
    expect(await reader.find(url, 'GET')).toBe(await reader.find(url, 'GET'));
    await writer.delete(makeToken('/v1/search/deep').key);
    expect((await reader.find(url, 'GET'))?.paymentHash).toBe('03'.repeat(32));
    await writer.clear();
    expect(await reader.find(url, 'GET')).toBeUndefined();
    expect(await reader.find(new URL('https://other.example/v1'), 'GET')).toBeUndefined();
  });

  it('serves a token found once from memory, and sees another process drop it within recheckMs', async () => {
    const writer = new SqliteTokenStore(database());
    const reader = new SqliteTokenStore(database(), { recheckMs: 50 });
    const url = new URL('https://api.example.com/cached');
    await writer.put(makeToken('/cached'));
    const found = await reader.find(url, 'GET');
    expect(found?.key).toBe(makeToken('/cached').key);
    await writer.delete(makeToken('/cached').key);
    // Without asking the database: a cached request costs what it costs with the memory store.
    // A token another process dropped may be used this much longer; paying is always decided
    // in the database (claim), so this can never pay twice.
    expect(await reader.find(url, 'GET')).toBe(found);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await reader.find(url, 'GET')).toBeUndefined();
  });

  it('reads a token written by another connection after a miss', async () => {
    const reader = new SqliteTokenStore(database());
    const url = new URL('https://api.example.com/late');
    expect(await reader.find(url, 'GET')).toBeUndefined();
    await new SqliteTokenStore(database()).put(makeToken('/late'));
    expect((await reader.find(url, 'GET'))?.key).toBe(makeToken('/late').key);
  });

  it('keeps payment-loop records for every process, apart from the tokens', async () => {
    const origin = 'https://shop.test';
    const report = {
      key: `${origin} GET /a`,
      origin,
      scope: '/a',
      method: 'GET',
      amountMsat: 10_000n,
      paymentHash: 'ab'.repeat(32),
      at: 1_000,
    };
    await new SqliteTokenStore(database()).recordPaymentLoop(report);
    const other = new SqliteTokenStore(database());
    // The same payment reported again (a second call saw it) counts once.
    await other.recordPaymentLoop({ ...report, at: 1_500 });
    await other.recordPaymentLoop({ ...report, paymentHash: 'cd'.repeat(32), at: 2_000 });
    await other.recordPaymentLoop({
      ...report,
      key: 'https://other.test GET /a',
      origin: 'https://other.test',
    });
    await other.clear();
    expect(await new SqliteTokenStore(database()).getPaymentLoop(report.key)).toEqual({
      key: report.key,
      origin,
      scope: '/a',
      method: 'GET',
      count: 2,
      amountMsat: 20_000n,
      paymentHash: 'cd'.repeat(32),
      firstAt: 1_000,
      lastAt: 2_000,
    });
    expect(await other.clearPaymentLoops(origin)).toBe(1);
    expect((await other.listPaymentLoops()).map((loop) => loop.origin)).toEqual([
      'https://other.test',
    ]);
    expect(await other.clearPaymentLoops()).toBe(1);
    await expect(other.recordPaymentLoop({ ...report, paymentHash: 'bad' })).rejects.toThrow(
      RangeError,
    );
  });
});
