import { createL402McpServer } from '@l402kit/mcp';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  type CallToolResult,
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApprovalApi, approvalPaidFetch, startApprovalApi } from './support/approval-api.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Answer = (request: ElicitRequest['params']) => ElicitResult | Promise<ElicitResult>;

async function setUp(answer?: Answer) {
  const api = await startApprovalApi();
  cleanups.push(api.close);
  const paidFetch = approvalPaidFetch(api);
  const server = createL402McpServer({ paidFetch, enablePayInvoice: true });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const asked: ElicitRequest['params'][] = [];
  const client = new Client(
    { name: 'test-agent', version: '1.0.0' },
    answer ? { capabilities: { elicitation: {} } } : {},
  );
  if (answer) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return answer(request.params);
    });
  }
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  const call = async (args: Record<string, unknown>, name = 'l402_fetch') => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
    return { text, isError: result.isError === true };
  };
  return { api, asked, call };
}

const host = (api: ApprovalApi) => new URL(api.url).host;

describe('MCP elicitation above approveAboveSats', () => {
  it('pays under the threshold without asking', async () => {
    const { api, asked, call } = await setUp(() => ({ action: 'decline' }));
    const { text } = await call({ url: `${api.url}/cheap` });
    expect(text).toContain('Paid 5 sats');
    expect(asked).toHaveLength(0);
  });

  it('accept: the person sees amount, host, description and payee; exactly that is paid', async () => {
    const { api, asked, call } = await setUp(() => ({ action: 'accept', content: {} }));
    const { text, isError } = await call({ url: `${api.url}/report` });
    expect(isError).toBe(false);
    expect(text).toContain('Paid 25 sats');
    expect(asked).toHaveLength(1);
    const message = (asked[0] as { message: string }).message;
    expect(message).toContain(`Pay 25 sats (+ up to 1.25 sats routing fee) to ${host(api)}`);
    expect(message).toContain('"Research report"');
    expect(message).toContain(`Payee node: ${api.merchant.publicKey}`);
    expect(message).toContain(`GET ${api.url}/report`);
    expect(api.merchant.balanceMsat).toBe(25_000n);
  });

  it('nothing is paid until the person answers', async () => {
    let release!: (result: ElicitResult) => void;
    let reached!: () => void;
    const waiting = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const { api, call } = await setUp(
      () =>
        new Promise<ElicitResult>((resolve) => {
          release = resolve;
          reached();
        }),
    );
    const pending = call({ url: `${api.url}/report` });
    await waiting;
    expect(api.network.payments).toHaveLength(0);
    expect(api.delivered.size).toBe(0);
    release({ action: 'accept', content: {} });
    expect((await pending).text).toContain('Paid 25 sats');
  });

  it('decline: nothing paid, and the model reads that a person declined', async () => {
    const { api, call } = await setUp(() => ({ action: 'decline' }));
    const { text, isError } = await call({ url: `${api.url}/report` });
    expect(isError).toBe(true);
    expect(text).toBe(
      `l402_fetch failed (APPROVAL_DENIED): A person declined paying 25 sats to ${host(api)}. Nothing was paid. The payment was declined; do not retry it unless the user asks you to.`,
    );
    expect(api.network.payments).toHaveLength(0);
  });

  it('cancel: nothing paid', async () => {
    const { api, call } = await setUp(() => ({ action: 'cancel' }));
    const { text, isError } = await call({ url: `${api.url}/report` });
    expect(isError).toBe(true);
    expect(text).toContain('l402_fetch failed (APPROVAL_REQUIRED)');
    expect(text).toContain('dismissed the request');
    expect(api.network.payments).toHaveLength(0);
  });

  it('a client that throws instead of answering: nothing paid', async () => {
    const { api, call } = await setUp(() => {
      throw new Error('no UI');
    });
    const { text } = await call({ url: `${api.url}/report` });
    expect(text).toContain('could not be shown to a person');
    expect(api.network.payments).toHaveLength(0);
  });

  it('a client without the elicitation capability is refused above the threshold, and told why', async () => {
    const { api, call } = await setUp();
    const { text, isError } = await call({ url: `${api.url}/report` });
    expect(isError).toBe(true);
    expect(text).toContain('this MCP client cannot ask one (it does not support elicitation)');
    expect(text).toContain('Nothing was paid.');
    expect(api.network.payments).toHaveLength(0);
    // Under the threshold it still works.
    expect((await call({ url: `${api.url}/cheap` })).text).toContain('Paid 5 sats');
  });

  it('the price raised after the person accepted: nothing paid; the next call asks again at the new price', async () => {
    let api!: ApprovalApi;
    const {
      api: started,
      asked,
      call,
    } = await setUp(() => {
      if (asked.length === 1) api.setPrice(30);
      return { action: 'accept', content: {} };
    });
    api = started;
    const first = await call({ url: `${api.url}/report` });
    expect(first.text).toContain('l402_fetch failed (APPROVAL_REQUIRED)');
    expect(first.text).toContain('the price rose above the 25 sats that was approved');
    expect(api.network.payments).toHaveLength(0);

    const second = await call({ url: `${api.url}/report` });
    expect((asked[1] as { message: string }).message).toContain('Pay 30 sats');
    expect(second.text).toContain('Paid 30 sats');
  });

  it('an accept is for its own call only: the next call asks again, and arguments never approve', async () => {
    const { api, asked, call } = await setUp(() => ({ action: 'accept', content: {} }));
    await call({ url: `${api.url}/one` });
    await call({ url: `${api.url}/two`, approval: true, approved: 'yes' });
    expect(asked).toHaveLength(2);
    expect(api.merchant.balanceMsat).toBe(50_000n);
  });

  it('pay_invoice asks too', async () => {
    const { api, asked, call } = await setUp(() => ({ action: 'decline' }));
    const invoice = api.merchant.createInvoice({ amountSats: 40, description: 'tip' }).invoice;
    const { text } = await call({ invoice }, 'pay_invoice');
    expect(text).toContain(
      'pay_invoice failed (APPROVAL_DENIED): A person declined paying 40 sats',
    );
    expect(asked).toHaveLength(1);
    expect(api.network.payments).toHaveLength(0);
  });
});
