import {
  type L402Error,
  type Msat,
  type PayInvoiceRequest,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  RequestFailedError,
  WalletUnauthorizedError,
} from '@l402kit/core';
import { excerpt, isRecord } from './parse-fields.js';

/**
 * What rides on a request. A `pay` request may move money once it may have reached the backend,
 * so losing its answer is an unknown outcome, never a failure; a `read` request moves nothing.
 */
export type RequestStakes =
  | { kind: 'read' }
  | {
      kind: 'pay';
      paymentHash: string;
      /** Invoice amount plus the most the fee may be: what an unknown outcome keeps counted. */
      amountMsat: Msat;
    };

export interface HttpBackendOptions {
  /** Names the backend in messages, e.g. "LND at 127.0.0.1:8080"; never holds a secret. */
  name: string;
  /** Base URL of the API, without credentials. */
  url: string;
  /** Authentication and other fixed headers. */
  headers: Record<string, string>;
  /** Secrets to scrub from anything the backend says before it reaches an error message. */
  secrets: string[];
  /** PEM certificate(s) to trust for https, e.g. LND's self-signed tls.cert. */
  tlsCertificate?: string | undefined;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path below the base URL, e.g. "/v1/balance/channels". */
  path: string;
  query?: Record<string, string>;
  /** Sent as a JSON body. */
  json?: unknown;
  /** Sent as an application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  stakes: RequestStakes;
}

/** An HTTP answer whose body is read under the same deadline and error rules as the request. */
export interface HttpAnswer {
  status: number;
  ok: boolean;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json(): Promise<unknown>;
  /** The body as text, scrubbed of secrets. */
  text(): Promise<string>;
  /** Newline-delimited JSON values as they stream in (LND's streaming endpoints). */
  lines(): AsyncGenerator<unknown>;
  /** Stops reading a streamed body and releases the connection. */
  cancel(): Promise<void>;
}

// Errors that mean the request never left this machine: nothing can have been paid.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

type Fetch = typeof globalThis.fetch;

/**
 * The part every REST wallet shares: fixed auth headers, a deadline that combines the
 * caller's signal with a timeout, optional custom TLS trust, and one rule for turning a lost
 * answer into a typed error (failed before sending, unknown after).
 */
export class HttpBackend {
  readonly name: string;
  readonly #base: URL;
  readonly #headers: Record<string, string>;
  readonly #secrets: string[];
  readonly #tlsCertificate: string | undefined;
  #transport: Promise<{ fetch: Fetch; close(): Promise<void> }> | undefined;

  constructor(options: HttpBackendOptions) {
    this.name = options.name;
    this.#base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.#headers = options.headers;
    this.#secrets = options.secrets.filter((secret) => secret.length > 0);
    this.#tlsCertificate = options.tlsCertificate;
  }

  /** Resolves with any HTTP status; throws a typed error only when no answer arrives. */
  async send(request: HttpRequest): Promise<HttpAnswer> {
    if (request.signal?.aborted) throw this.#abortedBeforeSending(request);
    const timeout = AbortSignal.timeout(request.timeoutMs);
    const signal =
      request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal]);
    const url = new URL(request.path.replace(/^\//, ''), this.#base);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = { accept: 'application/json', ...this.#headers };
    let body: string | undefined;
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    } else if (request.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(request.form).toString();
    }

    const fail = (error: unknown) => this.#lostAnswer(error, request, timeout, signal);
    let response: Response;
    try {
      const { fetch } = await this.#getTransport();
      response = await fetch(url, { method: request.method, headers, body, signal });
    } catch (error) {
      throw fail(error);
    }
    return this.#answer(response, fail);
  }

  async close(): Promise<void> {
    const transport = this.#transport;
    this.#transport = undefined;
    if (transport !== undefined) await (await transport).close();
  }

  /** Removes the backend's secrets from text that may end up in an error message. */
  scrub(text: string): string {
    let clean = text;
    for (const secret of this.#secrets) clean = clean.split(secret).join('[redacted]');
    return clean;
  }

  /** A safe excerpt of an error body for messages. */
  describe(body: unknown): string {
    if (isRecord(body)) {
      const message = body['message'] ?? body['detail'] ?? body['reason'] ?? body['error'];
      if (message !== undefined) {
        return this.scrub(excerpt(typeof message === 'string' ? message : JSON.stringify(message)));
      }
    }
    return this.scrub(excerpt(typeof body === 'string' ? body : JSON.stringify(body)));
  }

  #getTransport(): Promise<{ fetch: Fetch; close(): Promise<void> }> {
    this.#transport ??= (async () => {
      if (this.#tlsCertificate === undefined) {
        return { fetch: globalThis.fetch, close: async () => {} };
      }
      // Node's fetch cannot take a CA; undici's Agent can, and its fetch accepts the dispatcher.
      const undici = await import('undici');
      const dispatcher = new undici.Agent({ connect: { ca: this.#tlsCertificate } });
      const fetch = ((input: URL, init: RequestInit) =>
        undici.fetch(input, {
          ...(init as Parameters<typeof undici.fetch>[1]),
          dispatcher,
        })) as unknown as Fetch;
      return { fetch, close: () => dispatcher.close() };
    })();
    return this.#transport;
  }

  #answer(response: Response, fail: (error: unknown) => L402Error): HttpAnswer {
    // The body is read once; json() and text() share it.
    let body: Promise<string> | undefined;
    const read = (): Promise<string> => {
      body ??= response.text().catch((error: unknown) => {
        throw fail(error);
      });
      return body;
    };
    return {
      status: response.status,
      ok: response.ok,
      text: async () => this.scrub(await read()),
      json: async () => {
        const text = await read();
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return undefined;
        }
      },
      lines: () => this.#lines(response, fail),
      cancel: async () => {
        await response.body?.cancel().catch(() => {});
      },
    };
  }

  async *#lines(response: Response, fail: (error: unknown) => L402Error): AsyncGenerator<unknown> {
    if (response.body === null) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    try {
      while (true) {
        let chunk: ReadableStreamReadResult<string>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw fail(error);
        }
        if (chunk.done) break;
        buffered += chunk.value;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line.length > 0) yield parseLine(line);
          newline = buffered.indexOf('\n');
        }
      }
      if (buffered.trim().length > 0) yield parseLine(buffered.trim());
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  #abortedBeforeSending(request: HttpRequest): L402Error {
    const message = `${this.name}: aborted before ${request.method} ${request.path} was sent`;
    const { stakes } = request;
    return stakes.kind === 'pay'
      ? new PaymentFailedError(`${message}; nothing was paid`, { paymentHash: stakes.paymentHash })
      : new RequestFailedError(message);
  }

  #lostAnswer(
    error: unknown,
    request: HttpRequest,
    timeout: AbortSignal,
    signal: AbortSignal,
  ): L402Error {
    const { stakes } = request;
    const code = errorCode(error);
    const what = `${request.method} ${request.path}`;
    let reason: string;
    if (timeout.aborted) reason = `no answer within ${request.timeoutMs} ms`;
    else if (signal.aborted) reason = 'aborted by the caller';
    else reason = code === undefined ? 'the connection failed' : `the connection failed (${code})`;

    const neverSent = !signal.aborted && code !== undefined && NOT_SENT_CODES.has(code);
    if (stakes.kind === 'read') {
      return new RequestFailedError(`${this.name}: ${what}: ${reason}`, { cause: error });
    }
    if (neverSent) {
      return new PaymentFailedError(
        `${this.name}: ${reason}; the payment request was never sent, nothing was paid`,
        { paymentHash: stakes.paymentHash, cause: error },
      );
    }
    return new PaymentOutcomeUnknownError(
      `${this.name}: ${reason} after the payment request may have reached the wallet; look the payment up to learn whether it went through`,
      { paymentHash: stakes.paymentHash, amountMsat: stakes.amountMsat, cause: error },
    );
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

/** The system error code of a failed fetch, looking through undici's `cause` chain. */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && isRecord(current); depth += 1) {
    const code = current['code'];
    if (typeof code === 'string' && code !== 'ABORT_ERR') return code;
    const inner = current['errors'];
    if (Array.isArray(inner)) {
      for (const item of inner) {
        const innerCode = errorCode(item);
        if (innerCode !== undefined) return innerCode;
      }
    }
    current = current['cause'];
  }
  return undefined;
}

/**
 * The error for a read the backend refused: 401/403 (or what `isUnauthorized` recognises in the
 * body) becomes WalletUnauthorizedError, anything else RequestFailedError with the status.
 */
export async function refusedRead(
  backend: HttpBackend,
  answer: HttpAnswer,
  what: string,
  isUnauthorized: (body: unknown) => boolean = () => false,
): Promise<L402Error> {
  const body =
    (await answer.json().catch(() => undefined)) ?? (await answer.text().catch(() => ''));
  const said = backend.describe(body);
  if (answer.status === 401 || answer.status === 403 || isUnauthorized(body)) {
    return new WalletUnauthorizedError(
      `${backend.name} refused the credentials for ${what}: ${said}`,
    );
  }
  return new RequestFailedError(
    `${backend.name}: ${what} failed with HTTP ${answer.status}: ${said}`,
  );
}

export type PayStakes = Extract<RequestStakes, { kind: 'pay' }>;

/** What a payment request puts at stake: the amount plus the most the fee may be. */
export function payStakes(request: PayInvoiceRequest): PayStakes {
  return {
    kind: 'pay',
    paymentHash: request.paymentHash,
    amountMsat: request.amountMsat + request.maxFeeMsat,
  };
}

export function unknownOutcome(
  backend: { name: string },
  reason: string,
  stakes: PayStakes,
): PaymentOutcomeUnknownError {
  return new PaymentOutcomeUnknownError(
    `${backend.name}: ${reason}; look the payment up to learn whether it went through`,
    { paymentHash: stakes.paymentHash, amountMsat: stakes.amountMsat },
  );
}
