import { type Budget, createBudget, createPaidFetch, withBudget } from '@l402kit/core';
import { createL402MastraTools } from '@l402kit/mastra';
import { Agent } from '@mastra/core/agent';
import { RequestContext } from '@mastra/core/request-context';
import { MastraLanguageModelV2Mock } from '@mastra/core/test-utils/llm-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

// @mastra/core declares Node >= 22.13; CI runs this file on Node 24.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const supported = major > 22 || (major === 22 && minor >= 13);
if (!supported) {
  console.warn(
    `Skipping the Mastra adapter tests: @mastra/core needs Node >= 22.13, this is ${process.version}.`,
  );
}

type CallOptions = Parameters<MastraLanguageModelV2Mock['doGenerate']>[0];

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
let api: PaidApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

// The text of every tool result in the prompt the model is given, by tool name.
function toolResults(options: CallOptions): Map<string, string> {
  const results = new Map<string, string>();
  for (const message of options.prompt) {
    if (message.role !== 'tool') continue;
    for (const part of message.content) {
      if (part.type !== 'tool-result') continue;
      const { output } = part;
      results.set(
        part.toolName,
        output.type === 'text' || output.type === 'error-text'
          ? output.value
          : JSON.stringify(output.value),
      );
    }
  }
  return results;
}

type ContentPart = Record<string, unknown>;

function response(content: ContentPart[], finishReason: 'tool-calls' | 'stop') {
  return {
    content,
    finishReason,
    usage: { inputTokens: 10, outputTokens: 10, totalTokens: 20 },
    warnings: [],
  };
}

const toolCall = (toolName: string, input: unknown, toolCallId: string) =>
  response(
    [{ type: 'tool-call', toolCallId, toolName, input: JSON.stringify(input) }],
    'tool-calls',
  );

const answer = (text: string) => response([{ type: 'text', text }], 'stop');

// A model that quotes the URL, buys it, then answers with what the purchase returned.
function buyingModel(url: string) {
  const calls: CallOptions[] = [];
  const model = new MastraLanguageModelV2Mock({
    doGenerate: async (options) => {
      calls.push(options);
      const step = calls.length;
      if (step === 1) return toolCall('l402_quote', { url }, 'call-quote') as never;
      if (step === 2) return toolCall('l402_fetch', { url }, 'call-fetch') as never;
      return answer(
        `Report bought.\n${toolResults(options).get('l402_fetch') ?? 'no result'}`,
      ) as never;
    },
  });
  return { model, calls };
}

function agentFor(paidApi: PaidApi, model: MastraLanguageModelV2Mock, sharedMaxSats = 1_000) {
  const shared = createBudget({ name: 'shared', maxSats: sharedMaxSats });
  const paidFetch = createPaidFetch({
    wallet: paidApi.payer.wallet,
    budget: shared,
    policy: loopbackPolicy,
  });
  const agent = new Agent({
    id: 'researcher',
    name: 'researcher',
    instructions: 'Buy the report the user asks for.',
    model,
    tools: createL402MastraTools(paidFetch),
  });
  return { agent, shared };
}

function contextWith(budget: unknown) {
  const requestContext = new RequestContext();
  requestContext.set('l402Budget', budget);
  return requestContext;
}

describe.skipIf(!supported)('@l402kit/mastra with a scripted model (Node >= 22.13)', () => {
  it('quotes, pays and returns the paid content, charged to the run budget from the request context', async () => {
    api = await startPaidApi();
    const { model, calls } = buyingModel(`${api.url}/report`);
    const { agent, shared } = agentFor(api, model);
    const runBudget = shared.child({ name: 'run', maxSats: 50 });

    const result = await agent.generate('Get me the report.', {
      requestContext: contextWith(runBudget),
      maxSteps: 5,
    });

    expect(result.text).toContain('Paid 10 sats');
    expect(result.text).toContain('"path":"/report"');
    expect(calls).toHaveLength(3);
    // The quote was shown to the model before it bought, and cost nothing.
    expect(toolResults(calls[1]!).get('l402_quote')).toContain('costs 10 sats');
    expect(api.delivered.get('/report')).toBe(1);
    expect(api.merchant.balanceMsat).toBe(10_000n);
    expect((await runBudget.status()).spentMsat).toBe(10_000n);
    expect((await shared.status()).spentMsat).toBe(10_000n);
  });

  it('offers the tools to the model with their JSON Schemas', async () => {
    api = await startPaidApi();
    const { model, calls } = buyingModel(`${api.url}/report`);
    const { agent } = agentFor(api, model);
    await agent.generate('Get me the report.', { maxSteps: 5 });
    const tools = calls[0]!.tools ?? [];
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      ['budget_status', 'decode_invoice', 'l402_fetch', 'l402_quote', 'wallet_balance'].sort(),
    );
    const fetchTool = tools.find((tool) => tool.name === 'l402_fetch');
    expect(fetchTool).toMatchObject({
      type: 'function',
      inputSchema: { type: 'object', required: ['url'] },
    });
  });

  it('a run over its budget gets a clear tool error and pays nothing', async () => {
    api = await startPaidApi();
    const { model, calls } = buyingModel(`${api.url}/report`);
    const { agent, shared } = agentFor(api, model);
    const runBudget = shared.child({ name: 'run', maxSats: 5 });

    const result = await agent.generate('Get me the report.', {
      requestContext: contextWith(runBudget),
      maxSteps: 5,
    });

    const fetched = toolResults(calls[2]!).get('l402_fetch');
    expect(fetched).toContain('l402_fetch failed (BUDGET_EXCEEDED)');
    expect(fetched).toContain('Nothing was paid.');
    expect(result.text).toContain('BUDGET_EXCEEDED');
    expect(api.delivered.size).toBe(0);
    expect(api.merchant.balanceMsat).toBe(0n);
    expect((await shared.status()).spentMsat).toBe(0n);
  });

  it('takes the run budget from withBudget() around the call', async () => {
    api = await startPaidApi();
    const { model } = buyingModel(`${api.url}/report`);
    const { agent, shared } = agentFor(api, model);
    const runBudget = shared.child({ name: 'run', maxSats: 50 });

    const result = await withBudget(runBudget, () =>
      agent.generate('Get me the report.', { maxSteps: 5 }),
    );

    expect(result.text).toContain('"path":"/report"');
    expect((await runBudget.status()).spentMsat).toBe(10_000n);
  });

  it('keeps concurrent runs on their own budgets', async () => {
    api = await startPaidApi();
    const runA = createBudget({ name: 'run A', maxSats: 50 });
    const runB = createBudget({ name: 'run B', maxSats: 5 });
    const runWith = async (path: string, budget: Budget) => {
      const { agent } = agentFor(api!, buyingModel(`${api!.url}${path}`).model);
      return agent.generate('Buy it.', { requestContext: contextWith(budget), maxSteps: 5 });
    };
    const [a, b] = await Promise.all([runWith('/a', runA), runWith('/b', runB)]);
    expect(a.text).toContain('Paid 10 sats');
    expect(b.text).toContain('BUDGET_EXCEEDED');
    expect((await runA.status()).spentMsat).toBe(10_000n);
    expect((await runB.status()).spentMsat).toBe(0n);
    expect(api.delivered.get('/b')).toBeUndefined();
  });

  it('refuses a request context whose l402Budget is not a budget, and pays nothing', async () => {
    api = await startPaidApi();
    const { model, calls } = buyingModel(`${api.url}/report`);
    const { agent } = agentFor(api, model);
    await agent.generate('Get me the report.', {
      requestContext: contextWith({ maxSats: 5 }),
      maxSteps: 5,
    });
    // Mastra hands a tool's exception to the model as the tool result: every call is refused.
    const refusal = /"l402Budget" in the run context must be a budget .*nothing was paid/;
    expect(toolResults(calls[1]!).get('l402_quote')).toMatch(refusal);
    expect(toolResults(calls[2]!).get('l402_fetch')).toMatch(refusal);
    expect(api.delivered.size).toBe(0);
    expect(api.merchant.balanceMsat).toBe(0n);
  });
});
