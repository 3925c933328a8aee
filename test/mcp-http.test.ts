import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningMcpServer, runMcpServer } from '@l402kit/mcp';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LnbitsReproduction, startLnbitsReproduction } from '@l402kit/wallets/testing';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

const ADMIN_KEY = 'c3'.repeat(16);
let api: PaidApi;
let lnbits: LnbitsReproduction;
let running: RunningMcpServer | undefined;
let logs = '';
// The bearer token of the server last started, as it printed it.
let bearer = '';
const clients: Client[] = [];
// Each server gets its own database unless a test names one (a restart on the same file).
let databases: string;

beforeEach(async () => {
  api = await startPaidApi({ payerBalanceSats: 1_000, paywall: { price: 10 } });
  lnbits = await startLnbitsReproduction({
    wallet: api.payer.wallet,
    adminKey: ADMIN_KEY,
    invoiceKey: 'd4'.repeat(16),
  });
  logs = '';
  databases = await mkdtemp(join(tmpdir(), 'l402kit-mcp-db-'));
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await running?.close();
  running = undefined;
  await lnbits.close();
  await api.close();
  await rm(databases, { recursive: true, force: true });
});

async function serve(argv: string[], env: Record<string, string> = {}) {
  const start = logs.length;
  running = await runMcpServer(
    ['--http', '--port', '0', '--allow-private-network', ...argv],
    {
      L402KIT_WALLET: `lnbits://${ADMIN_KEY}@${new URL(lnbits.url).host}?tls=false`,
      L402KIT_DB: join(databases, `${logs.length}.db`),
      ...env,
    },
    { stderr: { write: (text: string) => (logs += text) } },
  );
  const printed = /Authorization: Bearer (\S+)/.exec(logs.slice(start));
  bearer = printed?.[1] ?? '';
  return running.url!;
}

async function session(
  url: string,
  headers: Record<string, string> = { authorization: `Bearer ${bearer}` },
): Promise<Client> {
  const client = new Client({ name: 'http-test-agent', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }),
  );
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
  return { text, isError: result.isError === true };
}

describe('l402kit-mcp over Streamable HTTP', () => {
  it('gives each session its own budget under the shared total', async () => {
    const url = await serve(['--budget-sats', '15', '--total-budget-sats', '25']);
    const first = await session(url);
    const second = await session(url);
    const third = await session(url);

    expect((await call(first, 'l402_fetch', { url: `${api.url}/a` })).isError).toBe(false);
    // The first session's 15 sats allow one purchase, not two.
    const overSession = await call(first, 'l402_fetch', { url: `${api.url}/b` });
    expect(overSession.isError).toBe(true);
    expect(overSession.text).toContain('BUDGET_EXCEEDED');
    // Another session starts with its own 15 sats.
    expect((await call(second, 'l402_fetch', { url: `${api.url}/c` })).isError).toBe(false);
    // The shared 25 sats are gone after two purchases, whatever the third session has left.
    const overTotal = await call(third, 'l402_fetch', { url: `${api.url}/d` });
    expect(overTotal.isError).toBe(true);
    expect(overTotal.text).toContain('BUDGET_EXCEEDED');

    expect(api.merchant.balanceMsat).toBe(20_000n);
    expect([...api.delivered.keys()].sort()).toEqual(['/a', '/c']);
    expect(logs).toContain('serving MCP over Streamable HTTP');
    expect(logs).not.toContain(ADMIN_KEY);
  });

  it('keeps bought tokens in L402KIT_TOKEN_FILE, so a restarted server does not pay again', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'l402kit-mcp-'));
    try {
      const env = { L402KIT_TOKEN_FILE: join(directory, 'tokens.json'), L402KIT_NO_DB: '1' };
      const firstUrl = await serve([], env);
      const bought = await call(await session(firstUrl), 'l402_fetch', { url: `${api.url}/kept` });
      expect(bought.text).toContain('Paid 10 sats');
      for (const client of clients.splice(0)) await client.close();
      await running?.close();

      const secondUrl = await serve([], env);
      const reused = await call(await session(secondUrl), 'l402_fetch', {
        url: `${api.url}/kept`,
      });
      expect(reused.isError).toBe(false);
      expect(reused.text).toContain('Used a token bought earlier; nothing paid now.');
      expect(api.merchant.balanceMsat).toBe(10_000n);
      expect(api.delivered.get('/kept')).toBe(2);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('requires the bearer token when one is configured, and never prints it', async () => {
    const url = await serve(['--auth-token', 'let-me-in-please-0123']);
    expect(bearer).toBe('');
    expect(logs).not.toContain('let-me-in-please');
    await expect(session(url, {})).rejects.toThrow();
    await expect(session(url, { authorization: 'Bearer wrong-token' })).rejects.toThrow();
    const client = await session(url, { authorization: 'Bearer let-me-in-please-0123' });
    expect((await call(client, 'budget_status')).text).toContain(
      'Budget "session 1": 1,000 sats left of 1,000 sats',
    );
  });

  it('refuses a Host header that is not loopback (DNS rebinding) and requests without a session', async () => {
    const url = await serve([]);
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'x', version: '1' },
      },
    };
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${bearer}`,
    };
    // fetch does not let a caller set Host; node:http does, as a rebinding browser would send it.
    const rebound = await postWithHost(url, 'attacker.example', JSON.stringify(initialize));
    expect(rebound.status).toBe(403);
    const noSession = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(noSession.status).toBe(400);
    const unknownSession = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': 'not-a-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    });
    expect(unknownSession.status).toBe(404);
  });
});

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'neighbour', version: '1' },
  },
});

/** A raw initialize, as another local process would send it. */
function initializeRaw(url: string, headers: Record<string, string>) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: INITIALIZE,
  });
}

describe('issue 11 item 4: the HTTP server has a real limit, a credential, an Origin check and bounded sessions', () => {
  it('item 4: ten sessions with the default settings cannot buy more than one session budget in total', async () => {
    const url = await serve(['--budget-sats', '15']);
    expect(logs).toContain(
      "15 sats across all sessions (default: one session's budget; set L402KIT_TOTAL_BUDGET_SATS to allow more)",
    );
    const sessions = await Promise.all(Array.from({ length: 10 }, () => session(url)));
    const results = await Promise.all(
      sessions.map((client, index) => call(client, 'l402_fetch', { url: `${api.url}/s${index}` })),
    );
    expect(results.filter((result) => !result.isError)).toHaveLength(1);
    for (const refused of results.filter((result) => result.isError)) {
      expect(refused.text).toContain('BUDGET_EXCEEDED');
    }
    expect(api.merchant.balanceMsat).toBe(10_000n);
  });

  it('item 4: ten sessions under an explicit total buy no more than the total', async () => {
    const url = await serve(['--budget-sats', '100', '--total-budget-sats', '35']);
    const sessions = await Promise.all(Array.from({ length: 10 }, () => session(url)));
    const results = await Promise.all(
      sessions.map((client, index) => call(client, 'l402_fetch', { url: `${api.url}/t${index}` })),
    );
    // 10 sats + up to 1.1 sat of fee reserved per purchase: three fit in 35 sats, not four.
    expect(results.filter((result) => !result.isError)).toHaveLength(3);
    expect(api.merchant.balanceMsat).toBe(30_000n);
  });

  it('item 4: without a configured token it makes one, prints it to stderr and requires it on loopback', async () => {
    const url = await serve([]);
    expect(bearer).toMatch(/^[\w-]{40,}$/);
    const none = await initializeRaw(url, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.text()).toContain('Unauthorized');
    expect((await initializeRaw(url, { authorization: 'Bearer guess' })).status).toBe(401);
    expect((await initializeRaw(url, { authorization: `Bearer ${bearer}x` })).status).toBe(401);
    expect((await initializeRaw(url, { authorization: bearer })).status).toBe(401);
    await expect(session(url, {})).rejects.toThrow();
    const client = await session(url);
    expect((await call(client, 'budget_status')).isError).toBe(false);
    // A second server makes a token of its own.
    const first = bearer;
    await running?.close();
    await serve([]);
    expect(bearer).not.toBe(first);
  });

  it('item 4: a request with a foreign Origin gets 403, an allowed Origin is served', async () => {
    const url = await serve(['--allowed-origins', 'https://app.example.com']);
    const authorization = `Bearer ${bearer}`;
    for (const origin of [
      'http://evil.example',
      'null',
      `http://127.0.0.1:${new URL(url).port}`,
      'https://app.example.com.evil.example',
    ]) {
      const refused = await initializeRaw(url, { authorization, origin });
      expect(refused.status, origin).toBe(403);
      expect(await refused.text()).toContain('Origin not allowed');
    }
    const allowed = await initializeRaw(url, { authorization, origin: 'https://APP.example.com' });
    expect(allowed.status).toBe(200);
    // No Origin at all is an MCP client that is not a browser.
    expect((await initializeRaw(url, { authorization })).status).toBe(200);
  });

  it('item 4: the number of live sessions is capped with a clear 503, and closing one frees a place', async () => {
    const url = await serve(['--max-sessions', '3']);
    const open = [await session(url), await session(url), await session(url)];
    const refused = await initializeRaw(url, { authorization: `Bearer ${bearer}` });
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('Too many sessions: 3 are open');
    await expect(session(url)).rejects.toThrow();
    const transport = open[0]!.transport as StreamableHTTPClientTransport;
    await transport.terminateSession();
    const again = await session(url);
    expect((await call(again, 'budget_status')).isError).toBe(false);
  });

  it('item 4: an idle session expires, and its id is then unknown', async () => {
    // One place only: a new session can open once the idle one is gone. Polling with new
    // sessions does not touch the idle one, so it does not keep it alive.
    const url = await serve(['--session-idle-seconds', '0.05', '--max-sessions', '1']);
    const authorization = `Bearer ${bearer}`;
    const opened = await initializeRaw(url, { authorization });
    expect(opened.status).toBe(200);
    await opened.text();
    const idleId = opened.headers.get('mcp-session-id')!;
    // Waits for the expiry; the test's own timeout bounds the wait.
    let status = 503;
    while (status === 503) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const attempt = await initializeRaw(url, { authorization });
      await attempt.text();
      status = attempt.status;
    }
    expect(status).toBe(200);
    const stale = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization,
        'mcp-session-id': idleId,
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(stale.status).toBe(404);
  });

  it('item 4: refuses auth tokens short enough to guess', async () => {
    await expect(serve(['--auth-token', 'short'])).rejects.toThrow(/at least 16 characters/);
  });
});

function postWithHost(url: string, host: string, body: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          host,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${bearer}`,
        },
      },
      (response) => {
        response.resume();
        resolve({ status: response.statusCode ?? 0 });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
