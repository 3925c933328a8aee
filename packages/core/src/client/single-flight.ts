/** Shares one in-flight call per key, so concurrent callers that need the same thing pay once. */
export interface SingleFlight<T> {
  /**
   * Runs `fn` unless a call for `key` is already in flight, in which case its promise is
   * returned: every caller gets the same result or the same error. The key is free again
   * as soon as the call settles.
   */
  run(key: string, fn: () => T | Promise<T>): Promise<T>;
  /** Whether a call for `key` is in flight. */
  has(key: string): boolean;
  /** Number of calls in flight. */
  readonly size: number;
}

export function createSingleFlight<T>(): SingleFlight<T> {
  const inFlight = new Map<string, Promise<T>>();
  return {
    run(key, fn) {
      const existing = inFlight.get(key);
      if (existing !== undefined) return existing;
      // Async wrapper: a synchronous throw from fn becomes a shared rejection too.
      const promise = (async () => fn())();
      inFlight.set(key, promise);
      const forget = () => {
        if (inFlight.get(key) === promise) inFlight.delete(key);
      };
      promise.then(forget, forget);
      return promise;
    },
    has(key) {
      return inFlight.has(key);
    },
    get size() {
      return inFlight.size;
    },
  };
}
