import {
  BudgetConfigError,
  type Budget,
  createBudget,
  createPaidFetch,
  withBudget,
} from '@l402kit/core';
import { createL402OpenAIAgentsTools } from '@l402kit/openai-agents';
import { Agent, type AgentInputItem, run, setTracingDisabled, ToolCallError } from '@openai/agents';
import {
  assistantMessage,
  functionCall,
  modelResponder,
  type RecordedModelCall,
  ScriptedModel,
} from '@openai/agents/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
let api: PaidApi | undefined;
beforeAll(() => setTracingDisabled(true));
afterEach(async () => {
  await api?.close();
  api = undefined;
});

// The text of every tool result the model has been shown so far, by tool name.
function toolResults(call: RecordedModelCall): Map<string, string> {
  const input = call.request.input as AgentInputItem[] | string;
  const results = new Map<string, string>();
  if (typeof input === 'string') return results;
  const names = new Map<string, string>();
  for (const item of input) {
    if (item.type === 'function_call') names.set(item.callId, item.name);
    if (item.type === 'function_call_result') {
      const output = item.output;
      const text =
        typeof output === 'string'
          ? output
          : !Array.isArray(output) && output.type === 'text'
            ? output.text
            : '';
      results.set(names.get(item.callId) ?? item.name, text);
    }
  }
  return results;
}

// A model that quotes the URL, buys it, then answers with what the purchase returned.
function buyingModel(url: string) {
  return new ScriptedModel([
    [functionCall('l402_quote', { url }, { callId: 'call-quote' })],
    [functionCall('l402_fetch', { url }, { callId: 'call-fetch' })],
    modelResponder((call) => [
      assistantMessage(`Report bought.\n${toolResults(call).get('l402_fetch') ?? 'no result'}`),
    ]),
  ]);
}

function agentFor(paidApi: PaidApi, model: ScriptedModel, sharedMaxSats = 1_000) {
  const shared = createBudget({ name: 'shared', maxSats: sharedMaxSats });
  const paidFetch = createPaidFetch({
    wallet: paidApi.payer.wallet,
    budget: shared,
    policy: loopbackPolicy,
  });
  const agent = new Agent({
    name: 'researcher',
    instructions: 'Buy the report the user asks for.',
    model,
    tools: createL402OpenAIAgentsTools(paidFetch),
  });
  return { agent, shared };
}

describe('@l402kit/openai-agents with a scripted model', () => {
  it('quotes, pays and returns the paid content, charged to the run budget from the context', async () => {
    api = await startPaidApi();
    const model = buyingModel(`${api.url}/report`);
    const { agent, shared } = agentFor(api, model);
    const runBudget = shared.child({ name: 'run', maxSats: 50 });

    const result = await run(agent, 'Get me the report.', { context: { l402Budget: runBudget } });

    expect(result.finalOutput).toContain('Paid 10 sats');
    expect(result.finalOutput).toContain('"path":"/report"');
    model.assertComplete();
    // The quote was shown to the model before it bought, and cost nothing.
    expect(toolResults(model.calls[1]!).get('l402_quote')).toContain('costs 10 sats');
    expect(api.delivered.get('/report')).toBe(1);
    expect(api.merchant.balanceMsat).toBe(10_000n);
    expect((await runBudget.status()).spentMsat).toBe(10_000n);
    expect((await shared.status()).spentMsat).toBe(10_000n);
  });

  it('offers the tools to the model as plain JSON Schema functions', async () => {
    api = await startPaidApi();
    const model = new ScriptedModel([[assistantMessage('Nothing to buy.')]]);
    const { agent } = agentFor(api, model);
    await run(agent, 'Hello');
    const tools = model.firstCall!.request.tools;
    expect(tools.map((tool) => tool.name)).toEqual([
      'l402_fetch',
      'l402_quote',
      'budget_status',
      'wallet_balance',
      'decode_invoice',
    ]);
    const fetchTool = tools.find((tool) => tool.name === 'l402_fetch');
    expect(fetchTool).toMatchObject({
      type: 'function',
      strict: false,
      parameters: { type: 'object', required: ['url'] },
    });
  });

  it('a run over its budget gets a clear tool error and pays nothing', async () => {
    api = await startPaidApi();
    const model = buyingModel(`${api.url}/report`);
    const { agent, shared } = agentFor(api, model);
    const runBudget = shared.child({ name: 'run', maxSats: 5 });

    const result = await run(agent, 'Get me the report.', { context: { l402Budget: runBudget } });

    const fetched = toolResults(model.calls[2]!).get('l402_fetch');
    expect(fetched).toContain('l402_fetch failed (BUDGET_EXCEEDED)');
    expect(fetched).toContain('Nothing was paid.');
    expect(result.finalOutput).toContain('BUDGET_EXCEEDED');
    expect(api.delivered.size).toBe(0);
    expect(api.merchant.balanceMsat).toBe(0n);
    expect((await shared.status()).spentMsat).toBe(0n);
  });

  it('takes the run budget from withBudget() around the run', async () => {
    api = await startPaidApi();
    const model = buyingModel(`${api.url}/report`);
    const { agent, shared } = agentFor(api, model);
    const runBudget = shared.child({ name: 'run', maxSats: 50 });

    const result = await withBudget(runBudget, () => run(agent, 'Get me the report.'));

    expect(result.finalOutput).toContain('"path":"/report"');
    expect((await runBudget.status()).spentMsat).toBe(10_000n);
  });

  it('keeps concurrent runs on their own budgets', async () => {
    api = await startPaidApi();
    const runA = createBudget({ name: 'run A', maxSats: 50 });
    const runB = createBudget({ name: 'run B', maxSats: 5 });
    const runWith = async (path: string, l402Budget: Budget) => {
      const { agent } = agentFor(api!, buyingModel(`${api!.url}${path}`));
      return run(agent, 'Buy it.', { context: { l402Budget } });
    };
    const [a, b] = await Promise.all([runWith('/a', runA), runWith('/b', runB)]);
    expect(a.finalOutput).toContain('Paid 10 sats');
    expect(b.finalOutput).toContain('BUDGET_EXCEEDED');
    expect((await runA.status()).spentMsat).toBe(10_000n);
    expect((await runB.status()).spentMsat).toBe(0n);
    expect(api.delivered.get('/b')).toBeUndefined();
  });

  it('answers invalid arguments with a tool error before any payment', async () => {
    api = await startPaidApi();
    const model = new ScriptedModel([
      [functionCall('l402_fetch', { url: 42 }, { callId: 'call-bad' })],
      modelResponder((call) => [assistantMessage(toolResults(call).get('l402_fetch') ?? '')]),
    ]);
    const { agent } = agentFor(api, model);
    const result = await run(agent, 'Buy it.');
    expect(result.finalOutput).toMatch(/^l402_fetch failed: invalid arguments \(url: /);
    expect(result.finalOutput).toContain('Nothing was paid.');
    expect(api.merchant.balanceMsat).toBe(0n);
  });

  it('fails the run when the context holds something that is not a budget', async () => {
    api = await startPaidApi();
    const model = buyingModel(`${api.url}/report`);
    const { agent } = agentFor(api, model);
    const failure = await run(agent, 'Get me the report.', {
      context: { l402Budget: { maxSats: 5 } },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ToolCallError);
    expect((failure as ToolCallError).error).toBeInstanceOf(BudgetConfigError);
    expect(api.merchant.balanceMsat).toBe(0n);
  });
});
