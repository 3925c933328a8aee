import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenStoreError } from '../errors.js';
import { FileTokenStore } from './file-token-store.js';
import { PaymentLoopBook, type PaymentLoopReport } from './payment-loops.js';
import { MemoryTokenStore } from './token-store.js';

const origin = 'https://shop.test';
function report(extra: Partial<PaymentLoopReport> = {}): PaymentLoopReport {
  return {
    key: `${origin} GET /a`,
    origin,
    scope: '/a',
    method: 'GET',
    amountMsat: 10_000n,
    paymentHash: 'ab'.repeat(32),
    at: 1_000,
    ...extra,
  };
}

const directories: string[] = [];
afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true });
});
async function tokenFile() {
  const directory = await mkdtemp(join(tmpdir(), 'l402kit-loops-'));
  directories.push(directory);
  return join(directory, 'tokens.json');
}

describe('PaymentLoopBook', () => {
  it('counts each looping payment once, adds up what was lost and keeps first and last times', () => {
    const book = new PaymentLoopBook();
    book.record(report());
    // The same payment seen by a second concurrent call is one loop.
    expect(book.record(report({ at: 1_500 }))).toMatchObject({ count: 1, lastAt: 1_000 });
    expect(book.record(report({ paymentHash: 'cd'.repeat(32), at: 2_000 }))).toMatchObject({
      count: 2,
      amountMsat: 20_000n,
      firstAt: 1_000,
      lastAt: 2_000,
    });
  });

  it('clears one record by key, every record of an origin, or all', () => {
    const book = new PaymentLoopBook();
    book.record(report());
    book.record(report({ key: `${origin} GET /b`, scope: '/b' }));
    book.record({ ...report({ key: origin }), scope: undefined, method: undefined });
    book.record(report({ key: 'https://other.test GET /a', origin: 'https://other.test' }));
    expect(book.clear(`${origin} GET /b`)).toBe(1);
    expect(book.clear(origin)).toBe(2);
    expect(book.values().map((loop) => loop.origin)).toEqual(['https://other.test']);
    expect(book.clear()).toBe(1);
  });

  it('refuses a report that could not be a record', () => {
    const book = new PaymentLoopBook();
    expect(() => book.record(report({ paymentHash: 'not a hash' }))).toThrow(RangeError);
    expect(() => book.record(report({ amountMsat: -1n }))).toThrow(RangeError);
    expect(() => book.record(report({ origin: 'file:///x' }))).toThrow(RangeError);
  });
});

describe('payment-loop records in the token stores', () => {
  it('are kept by the memory store apart from the tokens', async () => {
    const store = new MemoryTokenStore();
    await store.recordPaymentLoop(report());
    await store.clear();
    expect(await store.getPaymentLoop(`${origin} GET /a`)).toMatchObject({ count: 1 });
    expect(await store.clearPaymentLoops()).toBe(1);
    expect(await store.listPaymentLoops()).toEqual([]);
  });

  it('are written to the token file and read back by another store on it', async () => {
    const path = await tokenFile();
    await new FileTokenStore(path).recordPaymentLoop(report());
    await new FileTokenStore(path).recordPaymentLoop(
      report({ paymentHash: 'cd'.repeat(32), at: 5 }),
    );
    const reader = new FileTokenStore(path);
    expect(await reader.listPaymentLoops()).toEqual([
      expect.objectContaining({ key: `${origin} GET /a`, count: 2, amountMsat: 20_000n }),
    ]);
    expect(JSON.parse(await readFile(path, 'utf8')).loops[0].amountMsat).toBe('20000');
    expect(await reader.clearPaymentLoops(origin)).toBe(1);
    expect(await new FileTokenStore(path).listPaymentLoops()).toEqual([]);
  });

  it('reads a token file without loops, and refuses one whose loops are damaged', async () => {
    const path = await tokenFile();
    await writeFile(path, '{"format":"l402kit-tokens","version":1,"tokens":[]}');
    expect(await new FileTokenStore(path).listPaymentLoops()).toEqual([]);
    await writeFile(
      path,
      '{"format":"l402kit-tokens","version":1,"tokens":[],"loops":[{"key":"x","amountMsat":"1"}]}',
    );
    await expect(new FileTokenStore(path).listPaymentLoops()).rejects.toBeInstanceOf(
      TokenStoreError,
    );
  });
});
