import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createBudget, createPaidFetch } from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { createL402McpServer } from './create-server.js';
import { type McpHttpServer, startMcpHttpServer } from './http-server.js';

let server: McpHttpServer | undefined;

// A full garbage collection before each memory reading, so that it counts what is kept, not
// garbage not yet collected.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
function memoryAfterCollection() {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage();
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Partial<Parameters<typeof startMcpHttpServer>[0]> = {}) {
  const payer = createSandboxNetwork().createNode({ name: 'payer', balanceSats: 1_000 });
  const paidFetch = createPaidFetch({
    wallet: payer.wallet,
    budget: createBudget({ name: 'all sessions', maxSats: 100 }),
  });
  server = await startMcpHttpServer({
    createSessionServer: (id) =>
      createL402McpServer({ paidFetch, budgetPerSessionSats: 10, sessionName: id }),
    port: 0,
    ...options,
  });
  return server;
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'abandoner', version: '1' },
  },
});

async function initialize(http: McpHttpServer, headers: Record<string, string> = {}) {
  const response = await fetch(http.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${http.authToken}`,
      ...headers,
    },
    body: INITIALIZE,
  });
  await response.arrayBuffer();
  return response.status;
}

describe('startMcpHttpServer', () => {
  it('item 4: sessions opened and abandoned stay bounded in number and memory (bounded load on loopback)', async () => {
    const maxSessions = 40;
    // Idle sessions go after 200 ms, long enough for the abandoners to reach the cap.
    const http = await start({ maxSessions, sessionIdleTimeoutMs: 200 });
    const statuses = new Map<number, number>();
    let largestCount = 0;
    // Sixteen abandoners at once, each opening sessions and never coming back.
    const abandon = async (count: number) => {
      let started = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (started < count) {
            started += 1;
            const status = await initialize(http);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            largestCount = Math.max(largestCount, http.sessionCount);
          }
        }),
      );
      // Every abandoned session expires; the test's own timeout bounds the wait.
      while (http.sessionCount > 0 && largestCount <= maxSessions) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    // A first round lets code loading and the heap settle, so that they are not counted as growth.
    await abandon(300);
    const before = memoryAfterCollection();
    // Bursts of 300, collected in between as a long-running server would be; one big burst
    // without collection would measure how much garbage V8 lets pile up, not what is kept.
    const total = 1_500;
    for (let burst = 0; burst < total / 300; burst++) {
      await abandon(300);
      collectGarbage();
    }
    const after = memoryAfterCollection();
    const rssGrowthMiB = (after.rss - before.rss) / 2 ** 20;
    const heapGrowthMiB = (after.heapUsed - before.heapUsed) / 2 ** 20;
    // Stays readable in the test output: what the load did.
    console.info(
      `${total + 300} initialize calls: ${JSON.stringify(Object.fromEntries(statuses))}, at most ${largestCount} sessions live; over the last ${total}: RSS growth ${rssGrowthMiB.toFixed(1)} MiB, heap growth ${heapGrowthMiB.toFixed(1)} MiB`,
    );

    expect(largestCount).toBeLessThanOrEqual(maxSessions);
    expect([...statuses.keys()].every((status) => status === 200 || status === 503)).toBe(true);
    expect(statuses.get(200) ?? 0).toBeGreaterThanOrEqual(maxSessions);
    expect(http.sessionCount).toBe(0);
    // Generous bounds: kept sessions cost ~35 KB each (20,000 took a server from 88 to 782 MB).
    expect(heapGrowthMiB).toBeLessThan(16);
    expect(rssGrowthMiB).toBeLessThan(64);
  }, 120_000);

  it('item 4: compares the bearer token in full and refuses every other one', async () => {
    const http = await start({ authToken: 'a-configured-token-0123456789' });
    expect(http.authTokenGenerated).toBe(false);
    expect(await initialize(http, { authorization: 'Bearer a-configured-token-012345678' })).toBe(
      401,
    );
    expect(await initialize(http, { authorization: 'Bearer a-configured-token-01234567890' })).toBe(
      401,
    );
    expect(await initialize(http, { authorization: 'Basic a-configured-token-0123456789' })).toBe(
      401,
    );
    expect(await initialize(http, { authorization: 'bearer a-configured-token-0123456789' })).toBe(
      200,
    );
  });

  it('item 4: checks the Host header on every bind address', async () => {
    const http = await start({ host: '0.0.0.0', serverNames: ['mcp.example.com'] });
    const port = new URL(http.url).port;
    const withHost = (host: string) =>
      initializeWithHost(`http://127.0.0.1:${port}/mcp`, host, http.authToken);
    expect(await withHost('attacker.example')).toBe(403);
    expect(await withHost(`attacker.example:${port}`)).toBe(403);
    expect(await withHost('mcp.example.com')).toBe(200);
    expect(await withHost(`192.168.1.20:${port}`)).toBe(200);
    expect(await withHost(`[::1]:${port}`)).toBe(200);
    expect(await withHost(`localhost:${port}`)).toBe(200);
  });

  it('item 4: answers 401 to a stranger without reading its 100 MiB body, and 413 past the body limit, opening no session', async () => {
    const http = await start();
    const { port } = new URL(http.url);
    // Only the head is sent: the answer must come without the body it announces.
    const stranger = await rawExchange(port, {
      'content-length': String(100 * 1024 * 1024),
      'content-type': 'application/json',
    });
    expect(stranger).toMatch(/^HTTP\/1\.1 401 /);
    // With the token, the body is read up to the limit (1 MiB) and no further.
    const oversized = await rawExchange(
      port,
      {
        authorization: `Bearer ${http.authToken}`,
        'content-length': String(100 * 1024 * 1024),
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      Buffer.alloc(2 * 1024 * 1024, ' '),
    );
    expect(oversized).toMatch(/^HTTP\/1\.1 413 /);
    expect(http.sessionCount).toBe(0);
  });

  it('refuses allowedOrigins entries that are not origins', async () => {
    await expect(
      start({ allowedOrigins: ['https://app.example.com/path'] }),
    ).resolves.toBeDefined();
    await server?.close();
    server = undefined;
    await expect(start({ allowedOrigins: ['not an origin'] })).rejects.toThrow(RangeError);
  });
});

async function initializeWithHost(url: string, host: string, token: string): Promise<number> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        headers: {
          host,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
        },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(INITIALIZE);
  });
}

/**
 * Sends a POST head (and `bodyStart`, if any) over a raw socket, never the rest of the body it
 * announces, and resolves with the first bytes of the answer.
 */
async function rawExchange(
  port: string,
  headers: Record<string, string>,
  bodyStart?: Buffer,
): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      const head = Object.entries({ host: `127.0.0.1:${port}`, ...headers })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.write(`POST /mcp HTTP/1.1\r\n${head}\r\n`);
      // Errors once the server stops reading are expected; the answer is what counts.
      if (bodyStart) socket.write(bodyStart, () => {});
    });
    let answer = '';
    socket.on('data', (data) => {
      answer += data.toString('latin1');
      if (answer.includes('\r\n\r\n')) socket.destroy();
    });
    // The server may reset the connection once it stops reading; what it answered still counts.
    socket.on('error', () => {});
    socket.once('close', () =>
      answer ? resolve(answer) : reject(new Error('the server closed without an answer')),
    );
  });
}
