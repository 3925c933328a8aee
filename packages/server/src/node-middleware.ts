import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Decision } from './decision.js';
import { invalidPathReply, type PaywallReply } from './reply.js';
import { canonicalPath, splitTarget } from './request-path.js';
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
    const url = urlOf(request);
    if (url === undefined) return writeReply(response, invalidPathReply());
    let body: ReplayableBody | undefined;
    const priceRequest = () => {
      body ??= replayableBody(request);
      return toFetchRequest(request, url, body.stream);
    };
    decide(toFetchRequest(request, url, undefined), priceRequest).then(
      (decision) => {
        if (decision.allow) {
          // Whatever the price function read goes back, so the handler gets the whole body.
          body?.giveBack();
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
 * A Fetch `Request` with the same method and headers, at `url`. The body is attached only for
 * the price function, and only while nobody (a body parser) has read the stream yet.
 */
export function toFetchRequest(
  request: IncomingMessage,
  url: URL,
  body: ReadableStream<Uint8Array> | undefined,
): Request {
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
  if (body !== undefined && method !== 'GET' && method !== 'HEAD' && !request.readableEnded) {
    init.body = body;
    init.duplex = 'half';
  }
  return new Request(url, init);
}

interface ReplayableBody {
  stream: ReadableStream<Uint8Array>;
  /** Puts back what the stream read, for the handler; the stream reads nothing after this. */
  giveBack(): void;
}

/**
 * The Node body as a web stream that touches the Node stream only when read, and keeps what it
 * read so `giveBack` can unshift it. It never reads past the last byte (it stops when the
 * message is `complete`), so Node has not emitted 'end' and the body can still be put back.
 */
function replayableBody(request: IncomingMessage): ReplayableBody {
  const taken: Buffer[] = [];
  let givenBack = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        return new Promise<void>((resolve) => {
          const attempt = (): boolean => {
            if (givenBack || request.destroyed) {
              if (givenBack) controller.close();
              else controller.error(new Error('the request body was cut off'));
              return true;
            }
            const available = request.readableLength;
            if (available > 0) {
              // Exactly what is buffered: a plain read() at the end would emit 'end'.
              const chunk = request.read(available) as Buffer;
              taken.push(chunk);
              controller.enqueue(new Uint8Array(chunk));
              return true;
            }
            if (request.complete) {
              controller.close();
              return true;
            }
            return false;
          };
          if (attempt()) return resolve();
          const retry = () => {
            if (!attempt()) return;
            request.off('readable', retry);
            request.off('close', retry);
            resolve();
          };
          request.on('readable', retry);
          request.on('close', retry);
        });
      },
    },
    // No read-ahead: nothing is pulled before someone reads.
    { highWaterMark: 0 },
  );
  return {
    stream,
    giveBack() {
      if (givenBack) return;
      givenBack = true;
      if (taken.length > 0 && !request.readableEnded) request.unshift(Buffer.concat(taken));
    },
  };
}

/**
 * The URL the paywall prices and binds: the full target (Express strips a mount path from
 * `url`, the token binds to the full path) with its path in canonical form, or undefined for a
 * path routers could read as another resource.
 */
export function urlOf(request: IncomingMessage): URL | undefined {
  const target = (request as { originalUrl?: string }).originalUrl ?? request.url ?? '/';
  const { path, query } = splitTarget(target);
  const canonical = path === undefined ? undefined : canonicalPath(path);
  if (canonical === undefined) return undefined;
  const secure = (request.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const origin = `${secure ? 'https' : 'http'}://${request.headers.host ?? 'localhost'}`;
  try {
    return new URL(canonical + query, origin);
  } catch {
    // An unusable Host header must not stop the paywall from reading the path.
    return new URL(canonical + query, 'http://localhost');
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
