const MiB = 1024 * 1024;

/**
 * A fetch that counts the body bytes its caller pulls (after decoding), and fails the body
 * past `failAfterBytes` (default 64 MiB) so that an unbounded read fails fast instead of
 * filling memory.
 */
export function countingFetch(failAfterBytes = 64 * MiB) {
  const counter = {
    pulled: 0,
    fetch: (async (input, init) => {
      const response = await fetch(input, init);
      if (!response.body) return response;
      const counted = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            counter.pulled += chunk.byteLength;
            if (counter.pulled > failAfterBytes) {
              controller.error(new Error(`read past ${failAfterBytes} bytes`));
            } else controller.enqueue(chunk);
          },
        }),
      );
      return new Response(counted, response);
    }) as typeof fetch,
  };
  return counter;
}
