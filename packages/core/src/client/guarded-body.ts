/** setTimeout fires at once for anything longer. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface BodyGuard {
  /** Called when reading fails; its result is what the reader gets. */
  onError(cause: unknown, timedOut: boolean): unknown;
  /** Aborts the request the body belongs to, when the body deadline passes. */
  abort?: AbortController;
  /** The whole body must be read within this many ms of the headers. */
  timeoutMs?: number;
  /** Given as the response's read-only `l402` property (the paid fetch's receipt). */
  receipt?: unknown;
}

/** Read methods that only read the bytes: any failure of theirs is a failure to read. */
const plainReads = ['arrayBuffer', 'blob', 'bytes', 'text'] as const;
type PlainRead = (typeof plainReads)[number];

/**
 * `response` with a body that reports its own failures: when reading it fails (connection
 * dropped, aborted, deadline passed), the reader gets `onError(cause)` instead of undici's bare
 * `TypeError: terminated`, so a caller reading a paid body learns that it was paid. A body not
 * read in full within `timeoutMs` is aborted, so a seller trickling bytes cannot hold a call
 * open for good.
 *
 * The response itself is returned, its read methods guarded in place: `text()`, `json()`,
 * `arrayBuffer()`, `bytes()` and `blob()` read undici's body directly (a second stream per
 * response cost about 60 µs of CPU, a fifth of a cached-token request). Only a caller that
 * takes the stream itself (`body`, `clone()`, `formData()`) gets a guarded copy of the stream.
 */
export function guardBody(response: Response, guard: BodyGuard): Response {
  const source = response.body;
  if (!source) {
    if (guard.receipt !== undefined) {
      Object.defineProperty(response, 'l402', { value: guard.receipt, enumerable: false });
    }
    return response;
  }
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
  const state: GuardState = {
    source,
    settle: () => clearTimeout(timer),
    onError: (cause) => guard.onError(cause, timedOut),
    receipt: guard.receipt,
  };
  // One property and a prototype swap: cheaper than defining each guarded method on the
  // instance (about 5 µs per response).
  (response as Guarded)[guardState] = state;
  Object.setPrototypeOf(response, guardedPrototype);
  return response;
}

const guardState = Symbol('l402kit.guardedBody');

interface GuardState {
  source: ReadableStream<Uint8Array>;
  settle(): void;
  onError(cause: unknown): unknown;
  /** Made on first use of the stream itself; from then on every read goes through it. */
  streamed?: Response;
  receipt: unknown;
}

type Guarded = Response & { [guardState]: GuardState };

function viaStream(response: Guarded): Response {
  const state = response[guardState];
  state.streamed ??= withGuardedStream(response, state);
  return state.streamed;
}

const bodyUsedGetter = Object.getOwnPropertyDescriptor(Response.prototype, 'bodyUsed')?.get;
const bodyUsedOf = (response: Response) => Boolean(bodyUsedGetter?.call(response));

/** Reads with undici's own method; a failure is reported through the guard. */
function plainRead(method: PlainRead): PropertyDescriptor {
  const original = Response.prototype[method] as (this: Response) => Promise<unknown>;
  return {
    async value(this: Guarded) {
      const state = this[guardState];
      if (state.streamed) return state.streamed[method]();
      // Used already: undici's own TypeError says so; it is not a failed read.
      if (bodyUsedOf(this)) return original.call(this);
      try {
        const value = await original.call(this);
        state.settle();
        return value;
      } catch (cause) {
        state.settle();
        throw state.onError(cause);
      }
    },
  };
}

const guardedPrototype: Response = Object.create(Response.prototype, {
  ...Object.fromEntries(
    plainReads.filter((method) => method in Response.prototype).map((m) => [m, plainRead(m)]),
  ),
  // JSON.parse of the text, as undici's json() does: a parse error stays a SyntaxError.
  json: {
    async value(this: Guarded) {
      return JSON.parse(await this.text());
    },
  },
  formData: {
    value(this: Guarded) {
      return viaStream(this).formData();
    },
  },
  clone: {
    value(this: Guarded) {
      return viaStream(this).clone();
    },
  },
  body: {
    get(this: Guarded) {
      return viaStream(this).body;
    },
  },
  // On the prototype, not defined on each response: defining it cost about 3 µs a request.
  l402: {
    get(this: Guarded) {
      return this[guardState].receipt;
    },
  },
  bodyUsed: {
    get(this: Guarded) {
      const streamed = this[guardState].streamed;
      return streamed ? streamed.bodyUsed : bodyUsedOf(this);
    },
  },
});

/** A Response over a stream that pulls from `source` and reports its failures through `onError`. */
function withGuardedStream(response: Response, state: GuardState): Response {
  const { settle, onError } = state;
  const reader = state.source.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (cause) {
          settle();
          controller.error(onError(cause));
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
