// The texts a model (or a person) reads when a tool fails, produced through real failures, and
// scanned for the defects issue 15 found: "Nothing was paid" said twice, a sentence without its
// full stop, a sentence or note repeated, a model's own invoice text blamed on a server, and
// budget options refused without a typed error.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createBudget,
  createL402ToolApprovals,
  createL402Tools,
  createPaidFetch,
  L402Error,
  type PaidFetch,
  type Wallet,
} from '@l402kit/core';
import { createL402McpServer } from '@l402kit/mcp';
import { walletFromUrl } from '@l402kit/wallets';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalPaidFetch, startApprovalApi } from './support/approval-api.js';
import { dropMidBody, startHostileSeller } from './support/hostile-seller.js';
import { startPaidApi } from './support/paid-api.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** What is wrong with a failure text; empty when nothing is. */
function messageDefects(text: string, options: { invoiceFromModel?: boolean } = {}) {
  const defects: string[] = [];
  if ((text.match(/nothing was paid/gi) ?? []).length > 1)
    defects.push('says nothing was paid twice');
  if (/[^\s.!?:]\s+(Nothing was paid|Paid \d|A payment of up to)/.test(text)) {
    defects.push('a sentence runs into the payment summary without a full stop');
  }
  if (!/[.!?]$/.test(text.trim())) defects.push('ends without a full stop');
  const sentences = text
    .split(/(?<=[.!?])\s+/)
    .map((sentence) => sentence.trim().toLowerCase())
    .filter((sentence) => sentence !== '');
  if (new Set(sentences).size !== sentences.length) defects.push('repeats a sentence');
  if ((text.match(/token (bought earlier )?is kept/gi) ?? []).length > 1) {
    defects.push('says twice that the token is kept');
  }
  if (options.invoiceFromModel && /server/i.test(text)) {
    defects.push("blames a server for the model's own invoice text");
  }
  return defects;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function toolsOf(paidFetch: PaidFetch, enablePayInvoice = false) {
  const tools = createL402Tools({ paidFetch, enablePayInvoice });
  return (name: string, input: Record<string, unknown>) =>
    tools.find((tool) => tool.name === name)!.execute(input as never);
}

/** l402_fetch of `url` through `server`, from an MCP client that cannot elicit: the text it gets. */
async function fetchThroughMcp(server: ReturnType<typeof createL402McpServer>, url: string) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  closers.push(async () => {
    await client.close();
    await server.close();
  });
  const result = (await client.callTool({
    name: 'l402_fetch',
    arguments: { url },
  })) as CallToolResult;
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

async function paidApi() {
  const api = await startPaidApi();
  closers.push(api.close);
  return api;
}

describe('issue 15 item 7: tool failure messages', () => {
  it('issue 15 item 7: over budget through MCP says once that nothing was paid', async () => {
    const api = await paidApi();
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget: createBudget({ name: 'shared' }),
      policy: loopbackPolicy,
    });
    const server = createL402McpServer({ paidFetch, budgetPerSessionSats: 5 });
    const text = await fetchThroughMcp(server, `${api.url}/doc`);
    expect(text).toContain('BUDGET_EXCEEDED');
    expect(messageDefects(text)).toEqual([]);
  });

  it('issue 15 item 7: real failures read as clean sentences, each fact once', async () => {
    const api = await paidApi();
    const texts: Record<string, string> = {};
    const sandboxFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget: createBudget({ name: 'shared', maxSats: 1_000 }),
      policy: { ...loopbackPolicy, deniedHosts: ['denied.test'] },
      headersTimeoutMs: 200,
    });
    const run = toolsOf(sandboxFetch, true);
    texts.invalidUrl = await run('l402_fetch', { url: 'not a url' });
    texts.invalidUrlQuote = await run('l402_quote', { url: 'http://exa mple.com/' });
    texts.priceAboveCap = await run('l402_fetch', { url: `${api.url}/doc`, maxSats: 5 });
    texts.policyDenied = await run('l402_fetch', { url: 'http://denied.test/' });
    texts.refused = await run('l402_fetch', { url: `http://127.0.0.1:${await closedPort()}/` });

    // The wallet cannot be reached: its own message already says nothing was paid.
    const unreachable: Wallet = walletFromUrl(
      `lnbits://adminkey0123456789@127.0.0.1:${await closedPort()}`,
    );
    texts.walletNeverSent = await toolsOf(
      createPaidFetch({ wallet: unreachable, policy: loopbackPolicy }),
    )('l402_fetch', { url: `${api.url}/doc` });
    expect(texts.walletNeverSent).toContain('never sent');

    // Paid, then the body is cut off; paid, then the headers never come.
    const dropping = await startHostileSeller((_request, response) => dropMidBody(response));
    closers.push(dropping.close);
    texts.paidNotDelivered = await toolsOf(
      createPaidFetch({ wallet: dropping.payer.wallet, policy: loopbackPolicy }),
    )('l402_fetch', { url: `${dropping.url}/x` });
    const silent = await startHostileSeller(() => {});
    closers.push(silent.close);
    texts.paidTimeout = await toolsOf(
      createPaidFetch({
        wallet: silent.payer.wallet,
        policy: loopbackPolicy,
        headersTimeoutMs: 200,
      }),
    )('l402_fetch', { url: `${silent.url}/x` });

    for (const [name, text] of Object.entries(texts)) {
      expect({ name, text, defects: messageDefects(text) }).toMatchObject({ defects: [] });
    }
  });

  it('issue 15 item 7: approval refusals (issue 16) read as clean sentences, each fact once', async () => {
    const api = await startApprovalApi();
    closers.push(api.close);
    const paidFetch = approvalPaidFetch(api);
    const specs = createL402Tools({ paidFetch });
    const approvals = createL402ToolApprovals(specs);
    const fetchTool = specs.find((spec) => spec.name === 'l402_fetch')!;
    const texts: Record<string, string> = {};
    const input = (path: string) => ({ url: `${api.url}${path}` });

    texts.noApproval = await fetchTool.execute(input('/unasked'));
    await approvals.check('l402_fetch', input('/declined'), 'call-declined');
    texts.declined = approvals.decline('call-declined', 'l402_fetch');
    await approvals.check('l402_fetch', input('/raised'), 'call-raised');
    const raised = approvals.approve('call-raised', 'l402_fetch', input('/raised'))!;
    api.setPrice(40);
    texts.priceRaised = await fetchTool.execute(input('/raised'), { approval: raised });
    api.setPrice(25);
    await approvals.check('l402_fetch', input('/payee'), 'call-payee');
    const payee = approvals.approve('call-payee', 'l402_fetch', input('/payee'))!;
    api.switchPayee();
    texts.otherPayee = await fetchTool.execute(input('/payee'), { approval: payee });
    texts.replayed = await fetchTool.execute(input('/payee'), { approval: payee });

    // A client that cannot ask its person (no elicitation), through MCP.
    texts.mcpCannotAsk = await fetchThroughMcp(
      createL402McpServer({ paidFetch }),
      input('/mcp').url,
    );

    expect(api.network.payments).toHaveLength(0);
    for (const [name, text] of Object.entries(texts)) {
      expect(text, name).toMatch(/APPROVAL_(REQUIRED|DENIED)/);
      expect({ name, text, defects: messageDefects(text) }).toMatchObject({ defects: [] });
    }
  });

  it("issue 15 item 7: decode_invoice and pay_invoice on the model's own text do not blame a server", async () => {
    const api = await paidApi();
    const run = toolsOf(
      createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy }),
      true,
    );
    for (const invoice of ['hello', 'lnbc1garbage', 'lnbcrt10u1pj9xyz']) {
      for (const tool of ['decode_invoice', 'pay_invoice']) {
        const text = await run(tool, { invoice });
        expect(text).toContain('MALFORMED_INVOICE');
        expect({
          tool,
          invoice,
          defects: messageDefects(text, { invoiceFromModel: true }),
        }).toMatchObject({ defects: [] });
      }
    }
  });

  it('issue 15 item 7: createBudget refuses bad options with a typed BUDGET_CONFIG error', () => {
    const bad: Parameters<typeof createBudget>[0][] = [
      { maxSats: -1 },
      { maxSats: 0.0001 },
      { maxSatsPerHost: Number.NaN },
      { maxMsat: 5 as unknown as bigint },
      { window: 'daily' },
      { parent: {} as never },
    ];
    for (const options of bad) {
      let caught: unknown;
      try {
        createBudget(options);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(L402Error);
      expect(caught).toMatchObject({ code: 'BUDGET_CONFIG', paid: false });
      expect(messageDefects((caught as Error).message)).toEqual([]);
    }
  });
});
