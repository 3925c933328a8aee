import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  FileTokenStore,
  openSqliteDatabase,
  SqliteTokenStore,
  type StoredToken,
  type TokenStore,
} from '@l402kit/core';
import { type BenchTable, round } from './bench-table.js';
import { tokenFactory } from './bench-tokens.js';
import { median } from './throughput.js';

const SIZES = [1_000, 10_000, 100_000];

interface StoreUnderTest {
  name: string;
  /** A store holding `count` tokens made by `make`, and how to close it. */
  open(
    directory: string,
    count: number,
    make: (index: number) => StoredToken,
  ): Promise<{ store: TokenStore; close(): void }>;
  /** Timed operations per measure: a file store put at 100,000 tokens takes seconds. */
  operations(count: number): number;
}

const stores: StoreUnderTest[] = [
  {
    name: 'FileTokenStore',
    async open(directory, count, make) {
      const path = join(directory, `tokens-${count}.json`);
      // Concurrent puts: the file store applies them in one locked write.
      const filling = new FileTokenStore(path);
      await Promise.all(Array.from({ length: count }, (_, index) => filling.put(make(index))));
      return { store: new FileTokenStore(path), close() {} };
    },
    operations: (count) => (count >= 100_000 ? 3 : count >= 10_000 ? 10 : 50),
  },
  {
    name: 'SqliteTokenStore',
    async open(directory, count, make) {
      const path = join(directory, `tokens-${count}.db`);
      const database = openSqliteDatabase(path);
      // Filled without waiting for the disk on every put (the fill is not measured), then
      // measured as configured: every commit synced (synchronous = FULL).
      database.read((db) => db.exec('PRAGMA synchronous = OFF'));
      const filling = new SqliteTokenStore(database);
      for (let index = 0; index < count; index++) await filling.put(make(index));
      database.close();
      const reopened = openSqliteDatabase(path);
      return { store: new SqliteTokenStore(reopened), close: () => reopened.close() };
    },
    operations: () => 200,
  },
];

/** Median time of `operations` sequential calls of `run(index)`, in ms. */
async function timeEach(operations: number, run: (index: number) => Promise<unknown>) {
  const times: number[] = [];
  for (let index = 0; index < operations; index++) {
    const started = performance.now();
    await run(index);
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * `put` (a paid token), `claim` (a pending record for a new resource) and `find` (a token held
 * in the store but not yet looked up by this process) at 1,000, 10,000 and 100,000 tokens, in
 * the file store and the SQLite store, each measured on a store opened afresh on its file.
 */
export async function tokenStoresBench(options: { sizes?: number[] } = {}): Promise<BenchTable> {
  const make = tokenFactory();
  const directory = await mkdtemp(join(tmpdir(), 'l402kit-bench-stores-'));
  const rows: Record<string, string | number>[] = [];
  let sqlitePutAt100k: number | undefined;
  try {
    for (const count of options.sizes ?? SIZES) {
      for (const kind of stores) {
        const { store, close } = await kind.open(directory, count, make);
        try {
          const operations = kind.operations(count);
          // New tokens get indexes after the filled ones; finds look up filled ones, spread out.
          const fresh = (index: number) => make(count + index);
          const spread = (index: number) => Math.floor(((index + 0.5) * count) / operations);
          const findMs = await timeEach(operations, async (index) => {
            const token = make(spread(index));
            const url = new URL(`${token.origin}${token.scope}`);
            if (!(await store.find(url, 'GET'))) throw new Error(`${kind.name} lost a token`);
          });
          const putMs = await timeEach(operations, (index) => store.put(fresh(index)));
          const claimMs = await timeEach(operations, async (index) => {
            const token = { ...fresh(operations + index), state: 'pending' as const };
            delete token.preimage;
            const claim = await store.claim!(token);
            if (!claim.claimed) throw new Error(`${kind.name} refused a new claim`);
          });
          if (kind.name === 'SqliteTokenStore' && count === 100_000) sqlitePutAt100k = putMs;
          rows.push({
            store: kind.name,
            tokens: count,
            'put ms (median)': round(putMs, 3),
            'claim ms (median)': round(claimMs, 3),
            'find µs (median)': round(findMs * 1_000, 1),
            'operations each': operations,
          });
        } finally {
          close();
        }
      }
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  return {
    id: 'token-stores',
    title: 'Token stores: put, claim and find at 1,000, 10,000 and 100,000 tokens',
    rows,
    notes: [
      'put writes a paid token, claim a pending record for a resource nobody holds (both durable when they return); find looks up a token this process has not seen yet. Sequential calls, median.',
      'The file store rewrites (and fsyncs) the whole file on every change; the SQLite store writes one row in a WAL transaction synced on commit. The fill before measuring is not timed.',
    ],
    targets:
      sqlitePutAt100k === undefined
        ? []
        : [
            {
              target: 'SqliteTokenStore put at 100,000 tokens (ms)',
              value: round(sqlitePutAt100k, 3),
              goal: '< 2',
              met: sqlitePutAt100k < 2,
            },
          ],
  };
}
