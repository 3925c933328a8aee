import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** A loopback address to listen on; default 127.0.0.1. */
  host?: string;
  /** Default: a free port. */
  port?: number;
  /** Close the connection after every response, so each request needs a new connection. */
  closeConnections?: boolean;
}

/** Serves a Fetch-API handler on 127.0.0.1 with a free port: a real HTTP server for tests. */
export async function serveFetch(
  handler: (request: Request) => Response | Promise<Response>,
  options: ServeOptions = {},
): Promise<LoopbackServer> {
  const server = createServer(async (incoming, outgoing) => {
    try {
      const response = await handler(await toRequest(incoming));
      const headers: Record<string, string | string[]> = {};
      response.headers.forEach((value, name) => {
        if (name === 'www-authenticate' || name === 'set-cookie') return;
        headers[name] = value;
      });
      // Several challenges go out as separate header lines, as aperture sends them.
      const challenges = response.headers.get('www-authenticate');
      if (challenges) headers['www-authenticate'] = splitChallengeLines(response.headers);
      if (options.closeConnections) headers['connection'] = 'close';
      outgoing.writeHead(response.status, headers);
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      outgoing.writeHead(500, { 'content-type': 'text/plain' });
      outgoing.end(String(error));
    }
  });
  server.keepAliveTimeout = 1_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function splitChallengeLines(headers: Headers): string[] {
  // Headers joins repeated values with ", "; the paywall appends one value per scheme.
  const values: string[] = [];
  for (const [name, value] of headers as unknown as Iterable<[string, string]>) {
    if (name === 'www-authenticate') values.push(value);
  }
  if (values.length > 1) return values;
  return (values[0] ?? '').split(/,\s*(?=(?:L402|LSAT)\s)/i);
}

async function toRequest(incoming: IncomingMessage): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (let index = 0; index + 1 < incoming.rawHeaders.length; index += 2) {
    headers.append(incoming.rawHeaders[index]!, incoming.rawHeaders[index + 1]!);
  }
  const method = incoming.method ?? 'GET';
  return new Request(`http://${incoming.headers.host ?? '127.0.0.1'}${incoming.url ?? '/'}`, {
    method,
    headers,
    body:
      method === 'GET' || method === 'HEAD' || chunks.length === 0
        ? undefined
        : Buffer.concat(chunks),
  });
}
