import { type Budget, createBudget, createPaidFetch, withBudget } from '@l402kit/core';
import { createL402AiSdkTools, l402ToolsContext } from '@l402kit/ai-sdk';
import { generateText, isStepCount, streamText, ToolLoopAgent } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

type GenerateResult = Awaited<ReturnType<MockLanguageModelV4['doGenerate']>>;
type CallOptions = Parameters<MockLanguageModelV4['doGenerate']>[0];

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
let api: PaidApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

function setUp(paidApi: PaidApi) {
  const shared = createBudget({ name: 'shared', maxSats: 1_000 });
  const paidFetch = createPaidFetch({
    wallet: paidApi.payer.wallet,
    budget: shared,
    policy: loopbackPolicy,
  });
  return { shared, paidFetch, tools: createL402AiSdkTools(paidFetch) };
}

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

function toolCalls(...calls: { name: string; input: Record<string, unknown> }[]): GenerateResult {
  return {
    content: calls.map((call, index) => ({
      type: 'tool-call' as const,
      toolCallId: `call-${index}-${call.name}`,
      toolName: call.name,
      input: JSON.stringify(call.input),
    })),
    finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
    usage,
    warnings: [],
  };
}

function answer(text: string): GenerateResult {
  return {
    content: [{ type: 'text', text }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage,
    warnings: [],
  };
}

// A model that buys every URL in the user's message at once, then answers with the tool
// results it saw; one instance serves any number of concurrent runs.
function buyingModel() {
  return new MockLanguageModelV4({
    doGenerate: async (options: CallOptions) => {
      const results = options.prompt.flatMap((message) =>
        message.role === 'tool' ? message.content : [],
      );
      if (results.length > 0) return answer(`${results.length} results`);
      const request = options.prompt
        .flatMap((message) => (message.role === 'user' ? message.content : []))
        .map((part) => (part.type === 'text' ? part.text : ''))
        .join(' ');
      const urls = request.split(/\s+/).filter((word) => word.startsWith('http'));
      return toolCalls(...urls.map((url) => ({ name: 'l402_fetch', input: { url } })));
    },
  });
}

function outputs(result: { steps: { toolResults: { toolName: string; output: unknown }[] }[] }) {
  return result.steps.flatMap((step) => step.toolResults).map((each) => String(each.output));
}

describe('@l402kit/ai-sdk with generateText', () => {
  it('quotes, then buys; the run budget from toolsContext shows the spend', async () => {
    api = await startPaidApi();
    const { shared, tools } = setUp(api);
    const url = `${api.url}/report`;
    const model = new MockLanguageModelV4({
      doGenerate: [
        toolCalls({ name: 'l402_quote', input: { url } }),
        toolCalls({ name: 'l402_fetch', input: { url } }),
        answer('The report is in.'),
      ],
    });
    const run = shared.child({ name: 'run 1', maxSats: 50 });

    const result = await generateText({
      model,
      tools,
      toolsContext: l402ToolsContext(run),
      stopWhen: isStepCount(5),
      prompt: 'Buy the report if it is cheap.',
    });

    const [quote, fetched] = outputs(result);
    expect(quote).toContain('costs 10 sats');
    expect(fetched).toMatch(/^HTTP 200/);
    expect(fetched).toContain('Paid 10 sats');
    expect(fetched).toContain('"path":"/report"');
    expect(fetched).toContain('Budget "run 1": 40 sats left of 50 sats');
    expect(result.text).toBe('The report is in.');
    // The model saw the paid content before it answered.
    expect(JSON.stringify(model.doGenerateCalls.at(-1)?.prompt)).toContain('/report');
    expect((await run.status()).spentMsat).toBe(10_000n);
    expect((await shared.status()).spentMsat).toBe(10_000n);
    expect(api.merchant.balanceMsat).toBe(10_000n);
  });

  it('a run that would exceed its budget gets BUDGET_EXCEEDED as the tool result and pays nothing', async () => {
    api = await startPaidApi();
    const { shared, tools } = setUp(api);
    const model = new MockLanguageModelV4({
      doGenerate: [
        toolCalls({ name: 'l402_fetch', input: { url: `${api.url}/dear` } }),
        answer('Too expensive.'),
      ],
    });
    const run = shared.child({ name: 'small run', maxSats: 5 });

    const result = await withBudget(run, () =>
      generateText({ model, tools, stopWhen: isStepCount(3), prompt: 'Buy /dear.' }),
    );

    const [fetched] = outputs(result);
    expect(fetched).toContain('l402_fetch failed (BUDGET_EXCEEDED)');
    expect(fetched).toContain('Nothing was paid.');
    expect(result.text).toBe('Too expensive.');
    expect((await run.status()).spentMsat).toBe(0n);
    expect((await shared.status()).spentMsat).toBe(0n);
    expect(api.merchant.balanceMsat).toBe(0n);
    expect(api.delivered.size).toBe(0);
  });

  it.each([
    ['toolsContext', 'toolsContext'],
    ['withBudget', 'withBudget'],
  ] as const)(
    'two concurrent runs with the same tools spend exactly their own budgets (%s)',
    async (_label, how) => {
      api = await startPaidApi();
      const { shared, tools } = setUp(api);
      const model = buyingModel();
      const runA = shared.child({ name: 'run A', maxSats: 25 });
      const runB = shared.child({ name: 'run B', maxSats: 15 });
      const generate = (budget: Budget, paths: string[]) => {
        const prompt = paths.map((path) => `${api!.url}${path}`).join(' ');
        return how === 'toolsContext'
          ? generateText({
              model,
              tools,
              toolsContext: l402ToolsContext(budget),
              stopWhen: isStepCount(3),
              prompt,
            })
          : withBudget(budget, () =>
              generateText({ model, tools, stopWhen: isStepCount(3), prompt }),
            );
      };

      const [resultA, resultB] = await Promise.all([
        generate(runA, ['/a1', '/a2', '/a3']),
        generate(runB, ['/b1', '/b2']),
      ]);

      const outcomes = (texts: string[]) =>
        texts.map((text) =>
          text.startsWith('HTTP 200') ? 'paid' : /BUDGET_EXCEEDED/.exec(text)?.[0],
        );
      expect(outcomes(outputs(resultA)).sort()).toEqual(['BUDGET_EXCEEDED', 'paid', 'paid']);
      expect(outcomes(outputs(resultB)).sort()).toEqual(['BUDGET_EXCEEDED', 'paid']);
      expect((await runA.status()).spentMsat).toBe(20_000n);
      expect((await runB.status()).spentMsat).toBe(10_000n);
      expect((await shared.status()).spentMsat).toBe(30_000n);
      expect(api.merchant.balanceMsat).toBe(30_000n);
      expect([...api.delivered.keys()].filter((path) => path.startsWith('/a'))).toHaveLength(2);
      expect([...api.delivered.keys()].filter((path) => path.startsWith('/b'))).toHaveLength(1);
    },
  );

  it('passes the abort signal to the paid request', async () => {
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
    const model = new MockLanguageModelV4({
      doGenerate: [
        toolCalls({ name: 'l402_fetch', input: { url: `${api.url}/slow` } }),
        answer('unreachable'),
      ],
    });
    const controller = new AbortController();

    const run = generateText({
      model,
      tools,
      stopWhen: isStepCount(3),
      prompt: 'Buy /slow.',
      abortSignal: controller.signal,
    });
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

  it('refuses a toolsContext whose l402Budget is not a budget, paying nothing', async () => {
    api = await startPaidApi();
    const { tools } = setUp(api);
    const model = new MockLanguageModelV4({
      doGenerate: [
        toolCalls({ name: 'l402_fetch', input: { url: `${api.url}/doc` } }),
        answer('Could not buy.'),
      ],
    });

    const result = await generateText({
      model,
      tools,
      toolsContext: { l402_fetch: { l402Budget: { maxSats: 5 } as unknown as Budget } },
      stopWhen: isStepCount(3),
      prompt: 'Buy /doc.',
    });

    const errors = result.steps.flatMap((step) =>
      step.content.filter((part) => part.type === 'tool-error'),
    );
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as { error: unknown }).error)).toContain('BudgetConfigError');
    expect(api.merchant.balanceMsat).toBe(0n);
  });
});

describe('@l402kit/ai-sdk with streamText and ToolLoopAgent', () => {
  it.each([
    ['toolsContext', 'toolsContext'],
    ['withBudget', 'withBudget'],
  ] as const)(
    'streamText charges the run budget (%s), the stream read after the call returns',
    async (_label, how) => {
      api = await startPaidApi();
      const { shared, tools } = setUp(api);
      const url = `${api.url}/streamed`;
      const model = new MockLanguageModelV4({
        doStream: [
          {
            stream: convertArrayToReadableStream([
              { type: 'stream-start', warnings: [] },
              {
                type: 'tool-call',
                toolCallId: 'call-1',
                toolName: 'l402_fetch',
                input: JSON.stringify({ url }),
              },
              { type: 'finish', finishReason: { unified: 'tool-calls', raw: undefined }, usage },
            ]),
          },
          {
            stream: convertArrayToReadableStream([
              { type: 'stream-start', warnings: [] },
              { type: 'text-start', id: 't' },
              { type: 'text-delta', id: 't', delta: 'Done.' },
              { type: 'text-end', id: 't' },
              { type: 'finish', finishReason: { unified: 'stop', raw: undefined }, usage },
            ]),
          },
        ],
      });
      const run = shared.child({ name: 'stream run', maxSats: 50 });

      const settings = { model, tools, stopWhen: isStepCount(3), prompt: 'Buy /streamed.' };
      // As in a route handler: the call returns the stream, which the caller reads afterwards.
      const result =
        how === 'toolsContext'
          ? streamText({ ...settings, toolsContext: l402ToolsContext(run) })
          : withBudget(run, () => streamText(settings));

      expect(await result.text).toBe('Done.');
      const steps = await result.steps;
      expect(String(steps[0]?.toolResults[0]?.output)).toContain('"path":"/streamed"');
      expect((await run.status()).spentMsat).toBe(10_000n);
    },
  );

  it('a ToolLoopAgent run inside withBudget is charged to that run', async () => {
    api = await startPaidApi();
    const { shared, tools } = setUp(api);
    const agent = new ToolLoopAgent({ model: buyingModel(), tools, stopWhen: isStepCount(3) });
    const run = shared.child({ name: 'agent run', maxSats: 15 });

    const result = await withBudget(run, () =>
      agent.generate({ prompt: `${api!.url}/x1 ${api!.url}/x2` }),
    );

    expect(result.text).toBe('2 results');
    expect((await run.status()).spentMsat).toBe(10_000n);
    expect(api.merchant.balanceMsat).toBe(10_000n);
  });
});
