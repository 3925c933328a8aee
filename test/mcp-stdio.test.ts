import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LnbitsReproduction, startLnbitsReproduction } from '@l402kit/wallets/testing';
import { callTool, startMcpStdioServer } from './support/mcp-stdio-server.js';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

// The built binary, as `npx @l402kit/mcp` runs it.
const root = fileURLToPath(new URL('..', import.meta.url));
const binary = `${root}packages/mcp/bin/l402kit-mcp.js`;
const ADMIN_KEY = 'a1'.repeat(16);

let api: PaidApi;
let lnbits: LnbitsReproduction;

beforeAll(async () => {
  // tsc -b is incremental: quick when `pnpm test` built already, and it catches a stale dist.
  try {
    await promisify(execFile)(
      process.execPath,
      [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/mcp'],
      {
        cwd: root,
      },
    );
  } catch (error) {
    // A sibling package mid-edit may not type-check; an existing build still tests the binary.
    if (!existsSync(`${root}packages/mcp/dist/bin.js`)) throw error;
  }
  // The spawned binary pays over real HTTP: an LNbits API backed by the payer node of the
  // sandbox network that also backs the paywall.
  api = await startPaidApi({ payerBalanceSats: 1_000, paywall: { price: 10 } });
  lnbits = await startLnbitsReproduction({
    wallet: api.payer.wallet,
    adminKey: ADMIN_KEY,
    invoiceKey: 'b2'.repeat(16),
  });
}, 120_000);

afterAll(async () => {
  await lnbits?.close();
  await api?.close();
});

/** A client that asks its person (answers `accept` or `decline`), or one that cannot ask. */
type Person = { answer: 'accept' | 'decline'; asked: ElicitRequest['params'][] };

async function spawnServer(env: Record<string, string>, person?: Person) {
  return startMcpStdioServer(
    // Never the real ~/.l402kit: a fresh database per server.
    { L402KIT_DB: join(await mkdtemp(join(tmpdir(), 'l402kit-stdio-')), 'l402kit.db'), ...env },
    {
      binary,
      ...(person && {
        elicit: async (request) => {
          person.asked.push(request);
          return person.answer === 'accept'
            ? { action: 'accept', content: {} }
            : { action: 'decline' };
        },
      }),
    },
  );
}

describe('l402kit-mcp over stdio (the built binary, a real LNbits-style wallet over HTTP)', () => {
  it('lists the tools, buys a resource within the session budget, refuses past it', async () => {
    const walletUrl = `lnbits://${ADMIN_KEY}@${new URL(lnbits.url).host}?tls=false`;
    const { client, logs } = await spawnServer({
      L402KIT_WALLET: walletUrl,
      L402KIT_BUDGET_SATS: '15',
      L402KIT_ALLOW_PRIVATE_NETWORK: '1',
    });
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual(
        expect.arrayContaining(['l402_fetch', 'l402_quote', 'budget_status', 'wallet_balance']),
      );
      expect(names).not.toContain('pay_invoice');

      const quote = await callTool(client, 'l402_quote', { url: `${api.url}/article` });
      expect(quote.text).toContain('costs 10 sats');

      const bought = await callTool(client, 'l402_fetch', { url: `${api.url}/article` });
      expect(bought.isError).toBe(false);
      expect(bought.text).toContain('"path":"/article"');
      expect(bought.text).toContain('Paid 10 sats');
      expect(api.merchant.balanceMsat).toBe(10_000n);
      expect(api.delivered.get('/article')).toBe(1);
      // The payment went out through the LNbits API, with its admin key.
      const payments = lnbits.requests.filter(
        (request) => request.method === 'POST' && request.path === '/api/v1/payments',
      );
      expect(payments).toHaveLength(1);
      expect(payments[0]!.headers['x-api-key']).toBe(ADMIN_KEY);

      const refused = await callTool(client, 'l402_fetch', { url: `${api.url}/second-article` });
      expect(refused.isError).toBe(true);
      expect(refused.text).toContain('BUDGET_EXCEEDED');
      expect(api.merchant.balanceMsat).toBe(10_000n);
      expect(api.delivered.has('/second-article')).toBe(false);
    } finally {
      await client.close();
    }
    expect(logs()).toContain('serving MCP over stdio');
    expect(logs()).not.toContain(ADMIN_KEY);
  });

  it('L402KIT_APPROVE_ABOVE_SATS: the person is asked through the client; a client that cannot ask is refused', async () => {
    const env = {
      L402KIT_WALLET: `lnbits://${ADMIN_KEY}@${new URL(lnbits.url).host}?tls=false`,
      L402KIT_BUDGET_SATS: '100',
      L402KIT_ALLOW_PRIVATE_NETWORK: '1',
      L402KIT_APPROVE_ABOVE_SATS: '5',
    };
    const before = api.merchant.balanceMsat;

    const cannotAsk = await spawnServer(env);
    try {
      const refused = await callTool(cannotAsk.client, 'l402_fetch', { url: `${api.url}/unasked` });
      expect(refused.isError).toBe(true);
      expect(refused.text).toContain('APPROVAL_REQUIRED');
      expect(refused.text).toContain('does not support elicitation');
      expect(api.merchant.balanceMsat).toBe(before);
      expect(api.delivered.has('/unasked')).toBe(false);
    } finally {
      await cannotAsk.client.close();
    }

    const declining: Person = { answer: 'decline', asked: [] };
    const declined = await spawnServer(env, declining);
    try {
      const result = await callTool(declined.client, 'l402_fetch', { url: `${api.url}/declined` });
      expect(result.text).toContain('APPROVAL_DENIED');
      expect(declining.asked).toHaveLength(1);
      expect(api.merchant.balanceMsat).toBe(before);
    } finally {
      await declined.client.close();
    }

    const accepting: Person = { answer: 'accept', asked: [] };
    const accepted = await spawnServer(env, accepting);
    try {
      const result = await callTool(accepted.client, 'l402_fetch', { url: `${api.url}/approved` });
      expect(result.isError).toBe(false);
      expect(result.text).toContain('Paid 10 sats');
      expect(accepting.asked).toHaveLength(1);
      expect(accepting.asked[0]!.message).toContain('10 sats');
      expect(api.merchant.balanceMsat - before).toBe(10_000n);
      expect(api.delivered.get('/approved')).toBe(1);
    } finally {
      await accepted.client.close();
    }
  });

  it('refuses to start without a wallet, saying which variable to set', async () => {
    const run = promisify(execFile)(process.execPath, [binary], {
      env: { PATH: process.env.PATH },
    });
    const failure = await run.then(
      () => undefined,
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('L402KIT_WALLET');
    expect(failure?.stdout).toBe('');
  });
});
