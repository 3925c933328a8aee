/**
 * `response` with a body that reports its own failures: when reading it fails (connection
 * dropped, aborted), the reader gets `onError(cause)` instead of undici's bare
 * `TypeError: terminated`, so a caller reading a paid body learns that it was paid.
 */
export function guardBody(response: Response, onError: (cause: unknown) => unknown): Response {
  const source = response.body;
  if (!source) return response;
  const reader = source.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (cause) {
          controller.error(onError(cause));
          return;
        }
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      },
      cancel(reason) {
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
