/** setTimeout fires at once for anything longer. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface BodyGuard {
  /** Called when reading fails; its result is what the reader gets. */
  onError(cause: unknown, timedOut: boolean): unknown;
  /** Aborts the request the body belongs to, when the body deadline passes. */
  abort?: AbortController;
  /** The whole body must be read within this many ms of the headers. */
  timeoutMs?: number;
}

/**
 * `response` with a body that reports its own failures: when reading it fails (connection
 * dropped, aborted, deadline passed), the reader gets `onError(cause)` instead of undici's bare
 * `TypeError: terminated`, so a caller reading a paid body learns that it was paid. A body not
 * read in full within `timeoutMs` is aborted, so a seller trickling bytes cannot hold a call
 * open for good.
 */
export function guardBody(response: Response, guard: BodyGuard): Response {
  const source = response.body;
  if (!source) return response;
  const reader = source.getReader();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (guard.abort && guard.timeoutMs !== undefined && Number.isFinite(guard.timeoutMs)) {
    const controller = guard.abort;
    timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort(new Error('the body deadline passed'));
      },
      Math.min(guard.timeoutMs, MAX_TIMER_MS),
    );
    // A body nobody reads must not keep the process alive.
    timer.unref?.();
  }
  const settle = () => clearTimeout(timer);
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (cause) {
          settle();
          controller.error(guard.onError(cause, timedOut));
          return;
        }
        if (chunk.done) {
          settle();
          controller.close();
        } else controller.enqueue(chunk.value);
      },
      cancel(reason) {
        settle();
        return reader.cancel(reason);
      },
    },
    // Pull only when the reader asks: nothing is buffered beyond what undici holds.
    { highWaterMark: 0 },
  );
  const guarded = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // What a constructed Response cannot be given: keep the fetched response's values.
  Object.defineProperties(guarded, {
    url: { value: response.url },
    redirected: { value: response.redirected },
    type: { value: response.type },
  });
  return guarded;
}
