// A person approves payments above approveAboveSats through the OpenAI Agents SDK's own
// human-in-the-loop: needsApproval quotes (no payment), the run stops with interruptions, and
// state.approve() / state.reject() resume it. Real paywall, sandbox payments, ScriptedModel.
import type { PaidFetch } from '@l402kit/core';
import {
  createL402OpenAIAgentsTools,
  l402ApprovalRequest,
  l402DeclineMessage,
} from '@l402kit/openai-agents';
import { Agent, type AgentInputItem, RunState, run, setTracingDisabled } from '@openai/agents';
import {
  assistantMessage,
  functionCall,
  modelResponder,
  type RecordedModelCall,
  ScriptedModel,
} from '@openai/agents/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ApprovalApi, approvalPaidFetch, startApprovalApi } from './support/approval-api.js';

const closers: (() => Promise<void>)[] = [];
beforeAll(() => setTracingDisabled(true));
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

// The text of every tool result the model was shown in this call.
function resultsSeen(call: RecordedModelCall | undefined): string[] {
  const input = (call?.request.input ?? []) as AgentInputItem[] | string;
  if (typeof input === 'string') return [];
  return input.flatMap((item) => {
    if (item.type !== 'function_call_result') return [];
    const output = item.output;
    if (typeof output === 'string') return [output];
    return !Array.isArray(output) && output.type === 'text' ? [output.text] : [];
  });
}

type Script = ConstructorParameters<typeof ScriptedModel>[0];

async function setUp() {
  const api = await startApprovalApi();
  closers.push(api.close);
  const paidFetch = approvalPaidFetch(api);
  const tools = createL402OpenAIAgentsTools(paidFetch);
  const agentWith = (script: Script) => {
    const model = new ScriptedModel(script);
    const agent = new Agent({ name: 'researcher', instructions: 'Buy reports.', model, tools });
    return { agent, model };
  };
  return { api, paidFetch, tools, agentWith };
}

const answerWithResults = modelResponder((call) => [
  assistantMessage(resultsSeen(call).join('\n') || 'no result'),
]);

async function forgetTokens(paidFetch: PaidFetch) {
  for (const token of await paidFetch.tokenStore.list())
    await paidFetch.tokenStore.delete(token.key);
}

const host = (api: ApprovalApi) => new URL(api.url).host;

describe('@l402kit/openai-agents: needsApproval above approveAboveSats', () => {
  it('pays under the threshold without an interruption', async () => {
    const { api, agentWith } = await setUp();
    const { agent } = agentWith([
      [functionCall('l402_fetch', { url: `${api.url}/cheap` }, { callId: 'call-1' })],
      answerWithResults,
    ]);
    const result = await run(agent, 'Buy the cheap one.');
    expect(result.interruptions).toHaveLength(0);
    expect(result.finalOutput).toContain('Paid 5 sats');
  });

  it('above it: interrupts, pays nothing, then pays exactly the approved amount', async () => {
    const { api, tools, agentWith } = await setUp();
    const url = `${api.url}/report`;
    const { agent } = agentWith([
      [functionCall('l402_fetch', { url }, { callId: 'call-1' })],
      answerWithResults,
    ]);
    const first = await run(agent, 'Buy the report.');
    expect(first.interruptions).toHaveLength(1);
    const [interruption] = first.interruptions;
    expect(interruption!.rawItem).toMatchObject({ name: 'l402_fetch', callId: 'call-1' });
    expect(api.network.payments).toHaveLength(0);
    expect(l402ApprovalRequest(tools, 'call-1')).toMatchObject({
      amountSats: 25,
      host: host(api),
      payee: api.merchant.publicKey,
      description: 'Research report',
    });

    first.state.approve(interruption!);
    const second = await run(agent, first.state);
    expect(second.interruptions).toHaveLength(0);
    expect(second.finalOutput).toContain('Paid 25 sats');
    expect(api.merchant.balanceMsat).toBe(25_000n);
  });

  it('rejected: nothing paid, and the model reads that a person declined', async () => {
    const { api, tools, agentWith } = await setUp();
    const url = `${api.url}/report`;
    const { agent } = agentWith([
      [functionCall('l402_fetch', { url }, { callId: 'call-1' })],
      answerWithResults,
    ]);
    const first = await run(agent, 'Buy the report.');
    const [interruption] = first.interruptions;
    first.state.reject(interruption!, { message: l402DeclineMessage(tools, 'call-1') });
    const second = await run(agent, first.state);
    expect(second.finalOutput).toBe(
      `l402_fetch failed (APPROVAL_DENIED): A person declined paying 25 sats to ${host(api)}. Nothing was paid. The payment was declined; do not retry it unless the user asks you to.`,
    );
    expect(api.network.payments).toHaveLength(0);
  });

  it('the price raised between approval and payment: nothing paid, and the retry interrupts again', async () => {
    const { api, tools, agentWith } = await setUp();
    const url = `${api.url}/report`;
    const { agent, model } = agentWith([
      [functionCall('l402_fetch', { url }, { callId: 'call-1' })],
      [functionCall('l402_fetch', { url }, { callId: 'call-2' })],
    ]);
    const first = await run(agent, 'Buy the report.');
    api.setPrice(30);
    first.state.approve(first.interruptions[0]!);
    const second = await run(agent, first.state);

    expect(api.network.payments).toHaveLength(0);
    const refused = resultsSeen(model.calls.at(-1));
    expect(refused).toEqual([expect.stringContaining('l402_fetch failed (APPROVAL_REQUIRED)')]);
    expect(refused[0]).toContain('the price rose above the 25 sats that was approved');
    expect(second.interruptions.map((item) => (item.rawItem as { callId: string }).callId)).toEqual(
      ['call-2'],
    );
    expect(l402ApprovalRequest(tools, 'call-2')?.amountSats).toBe(30);
  });

  it('an approval replayed (the saved state approved again) is not accepted', async () => {
    const { api, paidFetch, agentWith } = await setUp();
    const url = `${api.url}/report`;
    const { agent } = agentWith([
      [functionCall('l402_fetch', { url }, { callId: 'call-1' })],
      answerWithResults,
      answerWithResults,
    ]);
    const first = await run(agent, 'Buy the report.');
    const saved = first.state.toString();
    first.state.approve(first.interruptions[0]!);
    await run(agent, first.state);
    expect(api.merchant.balanceMsat).toBe(25_000n);
    await forgetTokens(paidFetch);

    const restored = await RunState.fromString(agent, saved);
    restored.approve(restored.getInterruptions()[0]!);
    const replayed = await run(agent, restored);
    expect(replayed.finalOutput).toContain('l402_fetch failed (APPROVAL_REQUIRED)');
    expect(api.merchant.balanceMsat).toBe(25_000n);
    expect(api.network.payments).toHaveLength(1);
  });
});
