import { type Budget, createBudget, createPaidFetch, withBudget } from '@l402kit/core';
import { createL402LangChainTools, L402Toolkit } from '@l402kit/langchain';
import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { createAgent } from 'langchain';
import { afterEach, describe, expect, it } from 'vitest';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
let api: PaidApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

function setUp(paidApi: PaidApi, sharedMaxSats = 1_000) {
  const shared = createBudget({ name: 'shared', maxSats: sharedMaxSats });
  const paidFetch = createPaidFetch({
    wallet: paidApi.payer.wallet,
    budget: shared,
    policy: loopbackPolicy,
  });
  return { shared, paidFetch, tools: createL402LangChainTools(paidFetch) };
}

function toolMessages(messages: BaseMessage[]): ToolMessage[] {
  return messages.filter((message) => ToolMessage.isInstance(message));
}

// A model that buys every path named in the user's message (all at once), then answers
// with the text it was given; the same script serves any number of concurrent runs.
function buyingModel(runs: number) {
  const model = fakeModel();
  for (let index = 0; index < runs * 2; index++) {
    model.respond((messages) => {
      const bought = toolMessages(messages);
      if (bought.length > 0) return new AIMessage(bought.map((message) => message.text).join('\n'));
      const request = messages.find((message) => HumanMessage.isInstance(message))!.text;
      const urls = request.split(/\s+/).filter((word) => word.startsWith('http'));
      return new AIMessage({
        content: '',
        tool_calls: urls.map((url, call) => ({
          name: 'l402_fetch',
          args: { url },
          id: `${url}#${call}`,
          type: 'tool_call' as const,
        })),
      });
    });
  }
  return model;
}

describe('@l402kit/langchain with createAgent', () => {
  it('quotes, then buys, and the run budget in the invoke context shows the spend', async () => {
    api = await startPaidApi();
    const { shared, tools } = setUp(api);
    const url = `${api.url}/report`;
    const model = fakeModel()
      .respondWithTools([{ name: 'l402_quote', args: { url } }])
      .respondWithTools([{ name: 'l402_fetch', args: { url } }])
      .respond(new AIMessage('The report is in.'));
    const agent = createAgent({ model, tools });
    const run = shared.child({ name: 'run 1', maxSats: 50 });

    const state = await agent.invoke(
      { messages: [new HumanMessage('Buy the report if it is cheap.')] },
      { context: { l402Budget: run } },
    );

    const [quote, fetched] = toolMessages(state.messages);
    expect(quote?.name).toBe('l402_quote');
    expect(quote?.text).toContain('costs 10 sats');
    expect(fetched?.name).toBe('l402_fetch');
    expect(fetched?.text).toMatch(/^HTTP 200/);
    expect(fetched?.text).toContain('Paid 10 sats');
    expect(fetched?.text).toContain('"path":"/report"');
    expect(fetched?.text).toContain('Budget "run 1": 40 sats left of 50 sats');
    expect(state.messages.at(-1)?.text).toBe('The report is in.');
    // The model saw the paid content before it answered.
    expect(model.calls.at(-1)?.messages.some((message) => message.text.includes('/report'))).toBe(
      true,
    );
    expect((await run.status()).spentMsat).toBe(10_000n);
    expect((await shared.status()).spentMsat).toBe(10_000n);
    expect(api.merchant.balanceMsat).toBe(10_000n);
    expect(api.delivered.get('/report')).toBe(1);
  });

  it('a run that would exceed its budget gets BUDGET_EXCEEDED as a tool message and pays nothing', async () => {
    api = await startPaidApi();
    const { shared, tools } = setUp(api);
    const model = fakeModel()
      .respondWithTools([{ name: 'l402_fetch', args: { url: `${api.url}/dear` } }])
      .respond(new AIMessage('Too expensive.'));
    const agent = createAgent({ model, tools });
    const run = shared.child({ name: 'small run', maxSats: 5 });

    const state = await withBudget(run, () =>
      agent.invoke({ messages: [new HumanMessage('Buy /dear.')] }),
    );

    const [fetched] = toolMessages(state.messages);
    expect(fetched?.text).toContain('l402_fetch failed (BUDGET_EXCEEDED)');
    expect(fetched?.text).toContain('Nothing was paid.');
    expect(state.messages.at(-1)?.text).toBe('Too expensive.');
    expect((await run.status()).spentMsat).toBe(0n);
    expect((await shared.status()).spentMsat).toBe(0n);
    expect(api.merchant.balanceMsat).toBe(0n);
    expect(api.delivered.size).toBe(0);
  });

  it.each([
    ['the invoke context', 'context'],
    ['withBudget', 'withBudget'],
  ] as const)(
    'two concurrent runs of one agent spend exactly their own budgets (%s)',
    async (_label, how) => {
      api = await startPaidApi();
      const { shared, tools } = setUp(api);
      const agent = createAgent({ model: buyingModel(2), tools });
      const runA = shared.child({ name: 'run A', maxSats: 25 });
      const runB = shared.child({ name: 'run B', maxSats: 15 });
      const invoke = (budget: Budget, paths: string[]) => {
        const messages = [new HumanMessage(paths.map((path) => `${api!.url}${path}`).join(' '))];
        return how === 'context'
          ? agent.invoke({ messages }, { context: { l402Budget: budget } })
          : withBudget(budget, () => agent.invoke({ messages }));
      };

      const [stateA, stateB] = await Promise.all([
        invoke(runA, ['/a1', '/a2', '/a3']),
        invoke(runB, ['/b1', '/b2']),
      ]);

      const outcomes = (messages: BaseMessage[]) =>
        toolMessages(messages).map((message) =>
          message.text.startsWith('HTTP 200') ? 'paid' : /BUDGET_EXCEEDED/.exec(message.text)?.[0],
        );
      expect(outcomes(stateA.messages).sort()).toEqual(['BUDGET_EXCEEDED', 'paid', 'paid']);
      expect(outcomes(stateB.messages).sort()).toEqual(['BUDGET_EXCEEDED', 'paid']);
      expect((await runA.status()).spentMsat).toBe(20_000n);
      expect((await runB.status()).spentMsat).toBe(10_000n);
      expect((await shared.status()).spentMsat).toBe(30_000n);
      expect(api.merchant.balanceMsat).toBe(30_000n);
      // Each run bought only its own paths.
      expect([...api.delivered.keys()].filter((path) => path.startsWith('/a'))).toHaveLength(2);
      expect([...api.delivered.keys()].filter((path) => path.startsWith('/b'))).toHaveLength(1);
    },
  );

  it.each([
    ['the stream context', 'context'],
    ['withBudget', 'withBudget'],
  ] as const)(
    'agent.stream charges the run budget (%s), the stream read after the call returns',
    async (_label, how) => {
      api = await startPaidApi();
      const { shared, tools } = setUp(api);
      const agent = createAgent({ model: buyingModel(1), tools });
      const run = shared.child({ name: 'stream run', maxSats: 50 });
      const input = { messages: [new HumanMessage(`${api.url}/streamed`)] };

      // As in a route handler: the call returns the stream, which the caller reads afterwards.
      const stream =
        how === 'context'
          ? await agent.stream(input, { context: { l402Budget: run }, streamMode: 'values' })
          : await withBudget(run, () => agent.stream(input, { streamMode: 'values' }));
      let last: { messages: BaseMessage[] } | undefined;
      for await (const state of stream) last = state;

      expect(toolMessages(last!.messages)[0]?.text).toContain('"path":"/streamed"');
      expect((await run.status()).spentMsat).toBe(10_000n);
    },
  );

  it('refuses a run context whose l402Budget is not a budget, paying nothing', async () => {
    api = await startPaidApi();
    const { tools } = setUp(api);
    const model = fakeModel()
      .respondWithTools([{ name: 'l402_fetch', args: { url: `${api.url}/doc` } }])
      .respond(new AIMessage('Could not buy.'));
    const agent = createAgent({ model, tools });

    const state = await agent.invoke(
      { messages: [new HumanMessage('Buy /doc.')] },
      { context: { l402Budget: { maxSats: 5 } } },
    );

    const [fetched] = toolMessages(state.messages);
    expect(fetched?.status).toBe('error');
    expect(fetched?.text).toContain('l402Budget');
    expect(fetched?.text).toContain('nothing was paid');
    expect(api.merchant.balanceMsat).toBe(0n);
  });

  it('stops the paid request when the invoke is aborted', async () => {
    let reached!: () => void;
    const handlerReached = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    api = await startPaidApi({
      handler: async () => {
        reached();
        await released;
        return new Response('late');
      },
    });
    const clientGone = new Promise<void>((resolve) => {
      api!.server.on('request', (_request, response) => {
        response.once('close', () => {
          if (!response.writableFinished) resolve();
        });
      });
    });
    const { shared, tools } = setUp(api);
    const model = fakeModel()
      .respondWithTools([{ name: 'l402_fetch', args: { url: `${api.url}/slow` } }])
      .respond(new AIMessage('unreachable'));
    const agent = createAgent({ model, tools });
    const controller = new AbortController();

    const run = agent.invoke(
      { messages: [new HumanMessage('Buy /slow.')] },
      { signal: controller.signal },
    );
    await handlerReached;
    controller.abort();

    await expect(run).rejects.toThrow();
    // The tool's fetch was cancelled: the client hung up before the response was written.
    await clientGone;
    release();
    // The payment itself had completed before the abort, and the books say so.
    expect(api.merchant.balanceMsat).toBe(10_000n);
    expect((await shared.status()).spentMsat).toBe(10_000n);
  }, 10_000);

  it('offers the same tools as a toolkit, from a paid fetch or from the tool options', async () => {
    api = await startPaidApi();
    const { paidFetch } = setUp(api);
    const names = (tools: { name: string }[]) => tools.map((tool) => tool.name);
    expect(names(new L402Toolkit(paidFetch).getTools())).toEqual([
      'l402_fetch',
      'l402_quote',
      'budget_status',
      'wallet_balance',
      'decode_invoice',
    ]);
    expect(
      names(
        createL402LangChainTools({ paidFetch, enablePayInvoice: true, enableCreateInvoice: true }),
      ),
    ).toEqual(expect.arrayContaining(['pay_invoice', 'create_invoice']));
    // Outside an agent (or in a plain LangGraph graph) the run budget can ride in `configurable`.
    const [fetchTool] = new L402Toolkit(paidFetch).getTools();
    const run = createBudget({ name: 'graph run', maxSats: 5 });
    const refused = await fetchTool!.invoke(
      { url: `${api.url}/direct` },
      { configurable: { l402Budget: run } },
    );
    expect(refused).toContain('BUDGET_EXCEEDED');
    const direct = await fetchTool!.invoke({ url: `${api.url}/direct` });
    expect(direct).toContain('"path":"/direct"');
    expect(api.merchant.balanceMsat).toBe(10_000n);
  });
});
