import type { RequestListener, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { toFetchRequest, urlOf } from './node-middleware.js';
import { invalidPathReply, toFetchResponse } from './reply.js';

/**
 * Serves a Fetch-API handler (a seller's, or `paywall.handler(...)`) with `node:http`:
 * `createServer(toNodeListener(seller.handler))`. The request URL is read as the Node
 * middleware reads it (a path routers could read as another resource gets 400).
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>): RequestListener {
  return (request, response) => {
    const url = urlOf(request);
    const fetchRequest =
      url === undefined
        ? undefined
        : toFetchRequest(request, url, Readable.toWeb(request) as ReadableStream<Uint8Array>);
    const answer =
      fetchRequest === undefined
        ? Promise.resolve(toFetchResponse(invalidPathReply()))
        : handler(fetchRequest);
    answer.then(
      (fetchResponse) => writeResponse(fetchResponse, response),
      () => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      },
    );
  };
}

async function writeResponse(fetchResponse: Response, response: ServerResponse): Promise<void> {
  // Fetch joins repeated headers with ", " (two WWW-Authenticate lines become one value,
  // which L402 clients read); Set-Cookie stays one line per cookie.
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of fetchResponse.headers) headers[name] = value;
  const cookies = fetchResponse.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  response.writeHead(fetchResponse.status, headers);
  if (fetchResponse.body === null) return void response.end();
  const reader = fetchResponse.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      response.write(value);
    }
  } finally {
    response.end();
  }
}
