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
const clients: Client[] = [];

beforeEach(async () => {
  api = await startPaidApi({ payerBalanceSats: 1_000, paywall: { price: 10 } });
  lnbits = await startLnbitsReproduction({
    wallet: api.payer.wallet,
    adminKey: ADMIN_KEY,
    invoiceKey: 'd4'.repeat(16),
  });
  logs = '';
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await running?.close();
  running = undefined;
  await lnbits.close();
  await api.close();
});

async function serve(argv: string[], env: Record<string, string> = {}) {
  running = await runMcpServer(
    ['--http', '--port', '0', '--allow-private-network', ...argv],
    { L402KIT_WALLET: `lnbits://${ADMIN_KEY}@${new URL(lnbits.url).host}?tls=false`, ...env },
    { stderr: { write: (text: string) => (logs += text) } },
  );
  return running.url!;
}

async function session(url: string, headers: Record<string, string> = {}): Promise<Client> {
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
      const env = { L402KIT_TOKEN_FILE: join(directory, 'tokens.json') };
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

  it('requires the bearer token when one is configured', async () => {
    const url = await serve(['--auth-token', 'let-me-in']);
    await expect(session(url)).rejects.toThrow();
    await expect(session(url, { authorization: 'Bearer wrong-token' })).rejects.toThrow();
    const client = await session(url, { authorization: 'Bearer let-me-in' });
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
    };
    // fetch does not let a caller set Host; node:http does, as a rebinding browser would send it.
    const rebound = await postWithHost(url, 'attacker.example', JSON.stringify(initialize));
    expect(rebound).toBe(403);
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

function postWithHost(url: string, host: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          host,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
