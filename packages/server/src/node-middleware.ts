import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Decision } from './paywall.js';
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
    init.body = Readable.toWeb(request) as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return new Request(urlOf(request), init);
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
