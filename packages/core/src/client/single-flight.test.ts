import { describe, expect, it } from 'vitest';
import { createSingleFlight } from './single-flight.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('createSingleFlight', () => {
  it('runs one call for concurrent callers of the same key', async () => {
    const flight = createSingleFlight<string>();
    const gate = deferred<string>();
    let calls = 0;
    const results = Array.from({ length: 100 }, () =>
      flight.run('GET https://a.test/x', () => {
        calls++;
        return gate.promise;
      }),
    );
    expect(flight.has('GET https://a.test/x')).toBe(true);
    gate.resolve('token');
    expect(await Promise.all(results)).toEqual(Array(100).fill('token'));
    expect(calls).toBe(1);
    expect(flight.size).toBe(0);
  });

  it('keeps different keys apart', async () => {
    const flight = createSingleFlight<number>();
    let calls = 0;
    const results = await Promise.all(
      ['a', 'b', 'a', 'c', 'b'].map((key) => flight.run(key, async () => ++calls)),
    );
    expect(calls).toBe(3);
    expect(results[0]).toBe(results[2]);
    expect(results[1]).toBe(results[4]);
    expect(new Set(results).size).toBe(3);
  });

  it('shares errors, including synchronous throws, then frees the key', async () => {
    const flight = createSingleFlight<string>();
    const failure = new Error('no route');
    let calls = 0;
    const failing = () => {
      calls++;
      throw failure;
    };
    const outcomes = await Promise.allSettled([flight.run('k', failing), flight.run('k', failing)]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
    expect(calls).toBe(1);
    expect(flight.has('k')).toBe(false);
    await expect(flight.run('k', () => 'second try')).resolves.toBe('second try');
    expect(calls).toBe(1);
  });

  it('starts a new call after the previous one settled', async () => {
    const flight = createSingleFlight<number>();
    let calls = 0;
    await flight.run('k', () => ++calls);
    await flight.run('k', () => ++calls);
    expect(calls).toBe(2);
  });
});
