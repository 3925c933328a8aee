import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Decision } from './decision.js';
import type { PaywallReply } from './reply.js';
import type { PaidToken } from './verify-credential.js';

/** Express's `next`, or any callback that runs the rest of a plain `http` handler. */
export type NodeNext = (error?: unknown) => void;

export type NodeMiddleware = (
  request: IncomingMessage,
  response: ServerResponse,
  next: NodeNext,
) => void;

/** After the middleware lets a paid request through, `request.l402` is the token that paid. */
export type PaidIncomingMessage = IncomingMessage & { l402?: PaidToken };

type Decide = (request: Request, priceRequest: () => Request) => Promise<Decision>;

/** Converts Node's request and response shapes; the decision itself is the paywall's. */
export function createNodeMiddleware(decide: Decide): NodeMiddleware {
  return (request, response, next) => {
    decide(toFetchRequest(request, false), () => toFetchRequest(request, true)).then(
      (decision) => {
        if (decision.allow) {
          (request as PaidIncomingMessage).l402 = decision.token;
          next();
        } else {
          writeReply(response, decision.reply);
        }
      },
      (error: unknown) => next(error),
    );
  };
}

/**
 * A Fetch `Request` with the same URL, method and headers. The body is attached only for the
 * price function, and only while nobody (a body parser) has read the stream yet.
 */
function toFetchRequest(request: IncomingMessage, withBody: boolean): Request {
  const method = request.method ?? 'GET';
  const headers = new Headers();
  const raw = request.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    try {
      headers.append(raw[index]!, raw[index + 1]!);
    } catch {
      // Node already validated the header; Fetch is stricter about a few characters.
    }
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (withBody && method !== 'GET' && method !== 'HEAD' && !request.readableEnded) {
    init.body = lazyBody(request);
    init.duplex = 'half';
  }
  return new Request(urlOf(request), init);
}

/**
 * The Node body as a web stream that touches the Node stream only when read: a price function
 * that ignores the body (or prices a request at 0) leaves it whole for the next handler.
 */
function lazyBody(request: IncomingMessage): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= (Readable.toWeb(request) as ReadableStream<Uint8Array>).getReader();
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        await reader?.cancel(reason);
      },
    },
    // No read-ahead: nothing is pulled before someone reads.
    { highWaterMark: 0 },
  );
}

function urlOf(request: IncomingMessage): URL {
  // Express strips a mount path from `url`; the token must bind to the full path.
  const target = (request as { originalUrl?: string }).originalUrl ?? request.url ?? '/';
  const secure = (request.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const origin = `${secure ? 'https' : 'http'}://${request.headers.host ?? 'localhost'}`;
  try {
    return new URL(target, origin);
  } catch {
    // An unusable Host header must not stop the paywall from reading the path.
    return new URL(target.startsWith('/') ? target : `/${target}`, 'http://localhost');
  }
}

function writeReply(response: ServerResponse, reply: PaywallReply): void {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of reply.headers) {
    grouped.set(name, [...(grouped.get(name) ?? []), value]);
  }
  response.statusCode = reply.status;
  // An array becomes one header line per value, so LSAT and L402 stay separate as in aperture.
  for (const [name, values] of grouped) {
    response.setHeader(name, values.length === 1 ? values[0]! : values);
  }
  response.end(reply.body);
}
