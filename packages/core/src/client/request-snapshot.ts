import { BodyNotReplayableError } from '../errors.js';
import { redactUrl } from '../redact.js';

/** A request whose body was read once so it can be sent again on the paid retry. */
export interface RequestSnapshot {
  url: URL;
  method: string;
  /** Undefined when the caller gave none. */
  headers: Headers | undefined;
  body: Uint8Array<ArrayBuffer> | undefined;
  signal: AbortSignal | undefined;
  redirect: RequestRedirect;
}

export const DEFAULT_MAX_REPLAY_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Reads `input`/`init` into a replayable snapshot. Any body, stream included, is buffered up
 * to `maxBodyBytes`; a larger one is refused before anything is sent or paid.
 */
export async function snapshotRequest(
  input: string | URL | Request,
  init: RequestInit | undefined,
  maxBodyBytes: number,
): Promise<RequestSnapshot> {
  if ((typeof input === 'string' || input instanceof URL) && init?.body == null) {
    // The common case (a URL, no body) needs no Request: building one costs more than the
    // rest of a cached-token request. fetch itself checks the method and headers later.
    return {
      url: new URL(input),
      method: normalizeMethod(init?.method ?? 'GET'),
      headers: init?.headers === undefined ? undefined : new Headers(init.headers),
      body: undefined,
      signal: init?.signal ?? undefined,
      redirect: init?.redirect ?? 'follow',
    };
  }
  const hasStreamBody = init?.body instanceof ReadableStream;
  const request = new Request(
    input,
    hasStreamBody ? ({ ...init, duplex: 'half' } as RequestInit) : init,
  );
  const url = new URL(request.url);
  const body = request.body ? await readLimited(request.body, maxBodyBytes, url) : undefined;
  return {
    url,
    method: request.method,
    headers: request.headers,
    body,
    signal: init?.signal ?? (input instanceof Request ? input.signal : undefined),
    redirect: request.redirect,
  };
}

// As fetch normalizes them; other methods are sent as given.
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

function normalizeMethod(method: string): string {
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

/** The snapshot as a redirect turns it into a GET: no body and no headers describing one. */
export function withoutBody(snapshot: RequestSnapshot): RequestSnapshot {
  const headers = new Headers(snapshot.headers);
  for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language']) {
    headers.delete(name);
  }
  return { ...snapshot, method: 'GET', headers, body: undefined };
}

async function readLimited(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  url: URL,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BodyNotReplayableError(
        `The request body is larger than ${maxBytes} bytes, so it could not be replayed after paying; nothing was sent or paid. Raise maxReplayBodyBytes or send a smaller body.`,
        { url: redactUrl(url), paid: false },
      );
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The fetch init for one attempt, optionally with an Authorization credential. */
export function requestInit(
  snapshot: RequestSnapshot,
  url: URL,
  authorization?: string,
): RequestInit {
  let headers: HeadersInit | undefined = snapshot.headers;
  if (authorization !== undefined) {
    if (snapshot.headers === undefined) headers = { authorization };
    else {
      const copy = new Headers(snapshot.headers);
      copy.set('authorization', authorization);
      headers = copy;
    }
  } else if (url.origin !== snapshot.url.origin && snapshot.headers?.has('authorization')) {
    // The caller's own credentials are for the first origin only, as browsers do.
    const copy = new Headers(snapshot.headers);
    copy.delete('authorization');
    headers = copy;
  }
  const init: RequestInit = {
    method: snapshot.method,
    // Redirects are followed by the paid fetch itself, so a token never crosses one.
    redirect: 'manual',
  };
  if (headers !== undefined) init.headers = headers;
  if (snapshot.body !== undefined) init.body = snapshot.body;
  if (snapshot.signal !== undefined) init.signal = snapshot.signal;
  return init;
}
