import { randomUUID, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  /** When set, every request must carry `Authorization: Bearer <authToken>`. */
  authToken?: string;
  /** Largest accepted JSON-RPC request body. Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface McpHttpServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:3402/mcp`. */
  url: string;
  /** Sessions currently open. */
  readonly sessionCount: number;
  close(): Promise<void>;
}

const MCP_PATH = '/mcp';
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

/**
 * Serves MCP over Streamable HTTP at `/mcp`: each session (its `mcp-session-id`) gets its own
 * server and therefore its own run budget. Bound to loopback, it refuses other Host headers
 * so a web page cannot reach it through DNS rebinding.
 */
export async function startMcpHttpServer(options: McpHttpServerOptions): Promise<McpHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const loopbackOnly = LOOPBACK_NAMES.has(host);
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const sessions = new Map<string, Session>();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== MCP_PATH) return sendError(response, 404, 'Not found: use /mcp');
    if (loopbackOnly && !isLoopbackHost(request.headers.host)) {
      return sendError(response, 403, 'Forbidden: Host header is not a loopback name');
    }
    if (options.authToken !== undefined && !hasBearer(request, options.authToken)) {
      return sendError(response, 401, 'Unauthorized: send Authorization: Bearer <token>');
    }
    const sessionHeader = request.headers['mcp-session-id'];
    const sessionId = typeof sessionHeader === 'string' ? sessionHeader : undefined;
    const session = sessionId === undefined ? undefined : sessions.get(sessionId);

    if (request.method === 'POST') {
      const body = await readJson(request, maxBodyBytes);
      if (!body.ok) return sendError(response, body.status, body.message, body.rpcCode);
      if (session) return session.transport.handleRequest(request, response, body.value);
      if (sessionId !== undefined) return sendError(response, 404, 'Session not found');
      if (!isInitializeRequest(body.value)) {
        return sendError(response, 400, 'Bad request: no session id and not an initialize request');
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
    const server = options.createSessionServer(id);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      onsessioninitialized: () => {
        sessions.set(id, { transport, server });
      },
    });
    transport.onclose = () => {
      sessions.delete(id);
    };
    await server.connect(transport);
    await transport.handleRequest(request, response, body);
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
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}${MCP_PATH}`,
    get sessionCount() {
      return sessions.size;
    },
    async close() {
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map((session) => session.server.close()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

function isLoopbackHost(header: string | undefined): boolean {
  if (header === undefined) return false;
  try {
    return LOOPBACK_NAMES.has(new URL(`http://${header}`).hostname);
  } catch {
    return false;
  }
}

function hasBearer(request: IncomingMessage, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
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
