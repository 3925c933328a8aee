import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

export interface McpHttpServerOptions {
  /** Makes the server of one new session (with its own budget). */
  createSessionServer: (sessionId: string) => McpServer;
  /** Default 3402; 0 picks a free port. */
  port?: number;
  /** Listen address. Default 127.0.0.1: anyone who reaches the server can spend its budget. */
  host?: string;
  /**
   * Every request must carry `Authorization: Bearer <authToken>`, on loopback too (any local
   * process can reach a loopback port). Omitted: a random token is made (see `authToken` on
   * the result).
   */
  authToken?: string;
  /**
   * Browser origins allowed to call the server (e.g. `https://app.example.com`). A request with
   * any other `Origin` header is refused with 403; requests without one (MCP clients that are
   * not browsers) pass. Default: none.
   */
  allowedOrigins?: readonly string[];
  /**
   * Names this server may be reached by, checked against the `Host` header (against DNS
   * rebinding). Loopback names are always accepted on loopback; off loopback, IP addresses and
   * the listen address are accepted too.
   */
  serverNames?: readonly string[];
  /** Live sessions at most; an `initialize` beyond it gets HTTP 503. Default 100. */
  maxSessions?: number;
  /** A session without any request for this long is closed. Default 30 minutes. */
  sessionIdleTimeoutMs?: number;
  /** Largest accepted JSON-RPC request body. Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface McpHttpServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:3402/mcp`. */
  url: string;
  /** The bearer token clients must send: the one configured, or the one made at start. */
  authToken: string;
  /** Whether `authToken` was made at start (no token was configured). */
  authTokenGenerated: boolean;
  /** Sessions currently open. */
  readonly sessionCount: number;
  close(): Promise<void>;
}

export const DEFAULT_MAX_SESSIONS = 100;
export const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 30 * 60_000;
const MCP_PATH = '/mcp';
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]']);

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  /** Requests of this session still open (an open GET stream counts). */
  openRequests: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * Serves MCP over Streamable HTTP at `/mcp`: each session (its `mcp-session-id`) gets its own
 * server and therefore its own run budget. Every request needs the bearer token, a `Host`
 * this server answers to (against DNS rebinding) and, when it has an `Origin`, an allowed one;
 * sessions are capped in number and closed when idle, so abandoned ones cannot pile up.
 */
export async function startMcpHttpServer(options: McpHttpServerOptions): Promise<McpHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const maxSessions = positiveInteger(options.maxSessions ?? DEFAULT_MAX_SESSIONS, 'maxSessions');
  const idleTimeoutMs = positiveInteger(
    options.sessionIdleTimeoutMs ?? DEFAULT_SESSION_IDLE_TIMEOUT_MS,
    'sessionIdleTimeoutMs',
  );
  const authTokenGenerated = options.authToken === undefined;
  const authToken = options.authToken ?? randomBytes(32).toString('base64url');
  if (authToken === '') throw new RangeError('authToken must not be empty');
  const expectedTokenDigest = digest(authToken);
  const acceptsHost = hostCheck(host, options.serverNames ?? []);
  const allowedOrigins = new Set(
    (options.allowedOrigins ?? []).map((origin) => {
      const canonical = canonicalOrigin(origin);
      if (canonical === undefined) {
        throw new RangeError(
          `allowedOrigins: ${origin.slice(0, 80)} is not an origin such as https://app.example.com`,
        );
      }
      return canonical;
    }),
  );
  const sessions = new Map<string, Session>();
  // Sessions whose initialize is still being answered: they count against the cap too.
  let starting = 0;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== MCP_PATH) return sendError(response, 404, 'Not found: use /mcp');
    if (!acceptsHost(request.headers.host)) {
      return sendError(response, 403, 'Forbidden: the Host header is not a name of this server');
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(canonicalOrigin(origin) ?? '')) {
      return sendError(response, 403, 'Forbidden: Origin not allowed');
    }
    if (!hasBearer(request, expectedTokenDigest)) {
      response.setHeader('www-authenticate', 'Bearer');
      return sendError(response, 401, 'Unauthorized: send Authorization: Bearer <token>');
    }
    const sessionHeader = request.headers['mcp-session-id'];
    const sessionId = typeof sessionHeader === 'string' ? sessionHeader : undefined;
    const session = sessionId === undefined ? undefined : sessions.get(sessionId);
    if (session) keepAlive(session, response);

    if (request.method === 'POST') {
      const body = await readJson(request, maxBodyBytes);
      if (!body.ok) return sendError(response, body.status, body.message, body.rpcCode);
      if (session) return session.transport.handleRequest(request, response, body.value);
      if (sessionId !== undefined) return sendError(response, 404, 'Session not found');
      if (!isInitializeRequest(body.value)) {
        return sendError(response, 400, 'Bad request: no session id and not an initialize request');
      }
      if (sessions.size + starting >= maxSessions) {
        return sendError(
          response,
          503,
          `Too many sessions: ${maxSessions} are open, the most this server allows; close one (HTTP DELETE) or wait for an idle one to expire`,
        );
      }
      return startSession(request, response, body.value);
    }
    if (request.method === 'GET' || request.method === 'DELETE') {
      if (!session)
        return sendError(response, sessionId === undefined ? 400 : 404, 'Session not found');
      return session.transport.handleRequest(request, response);
    }
    response.setHeader('allow', 'GET, POST, DELETE');
    return sendError(response, 405, 'Method not allowed');
  }

  async function startSession(
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
  ): Promise<void> {
    // The id is chosen up front so the session's server (and budget) can be named after it.
    const id = randomUUID();
    starting += 1;
    try {
      const server = options.createSessionServer(id);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => id,
        onsessioninitialized: () => {
          const session: Session = { transport, server, openRequests: 0, idleTimer: undefined };
          sessions.set(id, session);
          keepAlive(session, response);
        },
      });
      transport.onclose = () => {
        const session = sessions.get(id);
        if (session?.transport === transport) {
          clearTimeout(session.idleTimer);
          sessions.delete(id);
        }
      };
      await server.connect(transport);
      await transport.handleRequest(request, response, body);
      // An initialize that failed leaves no session behind.
      if (!sessions.has(id)) await server.close();
    } finally {
      starting -= 1;
    }
  }

  // Counts the request as activity of the session; the idle clock runs only while none is open.
  function keepAlive(session: Session, response: ServerResponse): void {
    session.openRequests += 1;
    clearTimeout(session.idleTimer);
    session.idleTimer = undefined;
    response.once('close', () => {
      session.openRequests -= 1;
      if (session.openRequests > 0) return;
      session.idleTimer = setTimeout(() => {
        session.server.close().catch(() => {});
      }, idleTimeoutMs);
      session.idleTimer.unref();
    });
  }

  const httpServer = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) sendError(response, 500, 'Internal server error');
      else response.destroy();
    });
  });
  httpServer.listen(options.port ?? 3402, host);
  await once(httpServer, 'listening');
  const { port } = httpServer.address() as AddressInfo;
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}${MCP_PATH}`,
    authToken,
    authTokenGenerated,
    get sessionCount() {
      return sessions.size;
    },
    async close() {
      const open = [...sessions.values()];
      sessions.clear();
      for (const session of open) clearTimeout(session.idleTimer);
      await Promise.allSettled(open.map((session) => session.server.close()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/**
 * Which `Host` headers are this server's own. On loopback: loopback names only. Elsewhere: an
 * IP address (a rebinding page reaches the server through a name, never an address), the
 * listen address, and the configured names.
 */
function hostCheck(
  listenHost: string,
  serverNames: readonly string[],
): (header: string | undefined) => boolean {
  const names = new Set(serverNames.map((name) => name.toLowerCase().replace(/\.$/, '')));
  const loopbackOnly = LOOPBACK_NAMES.has(listenHost);
  const listenName = listenHost.toLowerCase();
  return (header) => {
    const hostname = hostnameOf(header);
    if (hostname === undefined) return false;
    if (names.has(hostname)) return true;
    if (loopbackOnly) return LOOPBACK_NAMES.has(hostname);
    if (LOOPBACK_NAMES.has(hostname) || hostname === listenName) return true;
    if (WILDCARD_ADDRESSES.has(listenHost) || isIP(listenHost) !== 0) {
      return isIP(hostname.replace(/^\[(.*)\]$/, '$1')) !== 0;
    }
    return false;
  };
}

function hostnameOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  try {
    return new URL(`http://${header}`).hostname.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

/** `scheme://host[:port]` as a browser sends it; undefined for `null` and anything unparsable. */
function canonicalOrigin(origin: string): string | undefined {
  try {
    const parsed = new URL(origin);
    return parsed.origin === 'null' ? undefined : parsed.origin;
  } catch {
    return undefined;
  }
}

// Both sides hashed first, so the comparison takes the same time whatever the given length.
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function hasBearer(request: IncomingMessage, expectedDigest: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  if (!match) return false;
  return timingSafeEqual(digest(match[1]!.trim()), expectedDigest);
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a whole number of at least 1`);
  }
  return value;
}

type JsonBody =
  | { ok: true; value: unknown }
  | { ok: false; status: number; message: string; rpcCode?: number };

async function readJson(request: IncomingMessage, maxBytes: number): Promise<JsonBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return { ok: false, status: 413, message: 'Request body too large' };
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, message: 'Parse error: body is not JSON', rpcCode: -32700 };
  }
}

function sendError(response: ServerResponse, status: number, message: string, rpcCode = -32000) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: rpcCode, message }, id: null }));
}
