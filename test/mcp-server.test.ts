import { createBudget, createPaidFetch, type PaidFetch } from '@l402kit/core';
import { createL402McpServer, type L402McpServerOptions } from '@l402kit/mcp';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function paidApi(options: Parameters<typeof startPaidApi>[0] = {}): Promise<PaidApi> {
  const api = await startPaidApi(options);
  cleanups.push(() => api.close());
  return api;
}

function paidFetchFor(api: PaidApi, sharedMaxSats?: number): PaidFetch {
  return createPaidFetch({
    wallet: api.payer.wallet,
    budget: createBudget({ name: 'shared', maxSats: sharedMaxSats }),
    policy: loopbackPolicy,
  });
}

/** One MCP session: a real Client linked in memory to its own server. */
async function connect(options: L402McpServerOptions): Promise<Client> {
  const server = createL402McpServer(options);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
  return { text, isError: result.isError === true };
}

describe('MCP server over an in-memory transport', () => {
  it('lists the tools with JSON schemas; pay_invoice only when enabled', async () => {
    const api = await paidApi();
    const client = await connect({ paidFetch: paidFetchFor(api) });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'budget_status',
      'decode_invoice',
      'l402_fetch',
      'l402_quote',
      'wallet_balance',
    ]);
    const fetchTool = tools.find((tool) => tool.name === 'l402_fetch')!;
    expect(fetchTool.inputSchema.required).toEqual(['url']);
    expect(Object.keys(fetchTool.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['url', 'method', 'headers', 'body', 'maxSats']),
    );

    const withPay = await connect({ paidFetch: paidFetchFor(api), enablePayInvoice: true });
    const names = (await withPay.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('pay_invoice');
  });

  it('quotes without paying, then fetches: content arrives and the session budget is spent', async () => {
    const api = await paidApi();
    const paidFetch = paidFetchFor(api);
    const client = await connect({ paidFetch, budgetPerSessionSats: 100 });

    const quote = await call(client, 'l402_quote', { url: `${api.url}/report` });
    expect(quote.isError).toBe(false);
    expect(quote.text).toContain('costs 10 sats');
    expect(api.merchant.balanceMsat).toBe(0n);

    const fetched = await call(client, 'l402_fetch', { url: `${api.url}/report` });
    expect(fetched.isError).toBe(false);
    expect(fetched.text).toMatch(/^HTTP 200/);
    expect(fetched.text).toContain('"path":"/report"');
    expect(fetched.text).toContain('Paid 10 sats');
    expect(api.merchant.balanceMsat).toBe(10_000n);
    expect((await paidFetch.budget.status()).spentMsat).toBe(10_000n);

    const status = await call(client, 'budget_status');
    expect(status.text).toContain('90 sats left of 100 sats; spent 10 sats');
  });

  it('a session over its budget gets an isError result with BUDGET_EXCEEDED and pays nothing', async () => {
    const api = await paidApi({ paywall: { price: 50 } });
    const client = await connect({ paidFetch: paidFetchFor(api), budgetPerSessionSats: 20 });
    const result = await call(client, 'l402_fetch', { url: `${api.url}/expensive` });
    expect(result.isError).toBe(true);
    expect(result.text).toContain('BUDGET_EXCEEDED');
    expect(result.text).toContain('Nothing was paid');
    expect(api.merchant.balanceMsat).toBe(0n);
    expect(api.delivered.size).toBe(0);
  });

  it('bad input and unreachable URLs are error results, not protocol failures', async () => {
    const api = await paidApi();
    const client = await connect({ paidFetch: paidFetchFor(api) });
    const invalid = await call(client, 'l402_fetch', { url: 42 });
    expect(invalid.isError).toBe(true);
    const denied = await call(client, 'l402_fetch', { url: 'ftp://example.invalid/x' });
    expect(denied.isError).toBe(true);
    expect(denied.text).toMatch(/^l402_fetch failed/);
    // The session still works afterwards.
    expect((await call(client, 'budget_status')).isError).toBe(false);
  });

  it('two concurrent sessions each spend exactly their own budget', async () => {
    const api = await paidApi({ paywall: { price: 10 } });
    const paidFetch = paidFetchFor(api, 1_000);
    const first = await connect({ paidFetch, budgetPerSessionSats: 25 });
    const second = await connect({ paidFetch, budgetPerSessionSats: 35 });
    const fetchMany = (client: Client, prefix: string) =>
      Promise.all(
        Array.from({ length: 5 }, (_, index) =>
          call(client, 'l402_fetch', { url: `${api.url}/${prefix}/${index}` }),
        ),
      );
    const [firstResults, secondResults] = await Promise.all([
      fetchMany(first, 'first'),
      fetchMany(second, 'second'),
    ]);
    // 10 sats + up to 1 sat fee reserve each: 2 fit in 25 sats, 3 fit in 35 sats.
    expect(firstResults.filter((result) => !result.isError)).toHaveLength(2);
    expect(secondResults.filter((result) => !result.isError)).toHaveLength(3);
    for (const refused of [...firstResults, ...secondResults].filter((result) => result.isError)) {
      expect(refused.text).toContain('BUDGET_EXCEEDED');
    }
    expect(api.merchant.balanceMsat).toBe(50_000n);
    expect((await paidFetch.budget.status()).spentMsat).toBe(50_000n);
    expect((await call(first, 'budget_status')).text).toContain(
      '5 sats left of 25 sats; spent 20 sats',
    );
    expect((await call(second, 'budget_status')).text).toContain(
      '5 sats left of 35 sats; spent 30 sats',
    );
  });
});
