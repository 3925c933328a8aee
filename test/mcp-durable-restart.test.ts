// Issue 12: a total that a restart resets is no limit. A real l402kit MCP server process with a
// total of 100 sats spends 80 through a real MCP client, is SIGKILLed, and is started again on
// the same database: a fetch costing 30 is refused (BUDGET_EXCEEDED, nothing paid), one costing
// 15 succeeds. The wallet is an LNbits-style HTTP API over the sandbox payer node.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LnbitsReproduction, startLnbitsReproduction } from '@l402kit/wallets/testing';
import { fetchTool, startMcpStdioServer } from './support/mcp-stdio-server.js';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

const ADMIN_KEY = 'e5'.repeat(16);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(env: Record<string, string>) {
  const server = await startMcpStdioServer(env);
  cleanups.push(() => server.client.close().catch(() => {}));
  return server;
}

describe('the MCP server total survives a SIGKILL and a restart', () => {
  it('refuses 30 sats after 80 of 100 were spent before the kill, and pays 15', async () => {
    const api: PaidApi = await startPaidApi({
      payerBalanceSats: 1_000,
      paywall: {
        price: (request: Request) => {
          const path = new URL(request.url).pathname;
          return path === '/costs-30' ? 30 : path === '/costs-15' ? 15 : 10;
        },
      },
    });
    cleanups.push(api.close);
    const lnbits: LnbitsReproduction = await startLnbitsReproduction({
      wallet: api.payer.wallet,
      adminKey: ADMIN_KEY,
      invoiceKey: 'f6'.repeat(16),
    });
    cleanups.push(lnbits.close);
    const directory = await mkdtemp(join(tmpdir(), 'l402kit-restart-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const env = {
      L402KIT_WALLET: `lnbits://${ADMIN_KEY}@${new URL(lnbits.url).host}?tls=false`,
      L402KIT_TOTAL_BUDGET_SATS: '100',
      L402KIT_BUDGET_SATS: '1000',
      L402KIT_ALLOW_PRIVATE_NETWORK: '1',
      L402KIT_DB: join(directory, 'l402kit.db'),
    };

    const first = await startServer(env);
    for (let index = 0; index < 8; index++) {
      const bought = await fetchTool(first.client, `${api.url}/article/${index}`);
      expect(bought.isError, bought.text).toBe(false);
      expect(bought.text).toContain('Paid 10 sats');
    }
    expect(api.merchant.balanceMsat).toBe(80_000n);
    process.kill(first.pid, 'SIGKILL');
    await first.client.close().catch(() => {});

    const second = await startServer(env);
    const refused = await fetchTool(second.client, `${api.url}/costs-30`);
    expect(refused.isError).toBe(true);
    expect(refused.text).toContain('BUDGET_EXCEEDED');
    expect(refused.text).toMatch(/budget "mcp": limit 100 sats, spent 80 sats/);
    expect(refused.text).toContain('Nothing was paid');
    expect(api.merchant.balanceMsat).toBe(80_000n);

    const paid = await fetchTool(second.client, `${api.url}/costs-15`);
    expect(paid.isError, paid.text).toBe(false);
    expect(paid.text).toContain('Paid 15 sats');
    expect(api.merchant.balanceMsat).toBe(95_000n);
    // A token bought before the kill is still there: reading it again costs nothing.
    const reused = await fetchTool(second.client, `${api.url}/article/0`);
    expect(reused.text).toContain('Used a token bought earlier; nothing paid now.');
    expect(second.logs()).toContain('(level "mcp", kept across restarts)');
    expect(second.logs()).not.toMatch(/ExperimentalWarning|SQLite is an experimental/);
    expect(second.logs()).not.toContain(ADMIN_KEY);
  });
});
