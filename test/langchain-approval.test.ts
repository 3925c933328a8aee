// A person approves payments above approveAboveSats through LangGraph's interrupt(): the tool
// quotes (no payment), the agent pauses with the question, and Command({ resume }) carries the
// person's answer. Real createAgent with a checkpointer, fakeModel, real paywall and payments.
import type { PaidFetch } from '@l402kit/core';
import { createL402LangChainTools, type L402ApprovalInterrupt } from '@l402kit/langchain';
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { Command, MemorySaver } from '@langchain/langgraph';
import { createAgent } from 'langchain';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApprovalApi, approvalPaidFetch, startApprovalApi } from './support/approval-api.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function fetchCall(id: string, url: string): AIMessage {
  return new AIMessage({
    content: '',
    tool_calls: [{ name: 'l402_fetch', args: { url }, id, type: 'tool_call' }],
  });
}

async function setUp() {
  const api = await startApprovalApi();
  closers.push(api.close);
  const paidFetch = approvalPaidFetch(api);
  const checkpointer = new MemorySaver();
  const agentWith = (replies: AIMessage[], paid: PaidFetch = paidFetch) => {
    const model = fakeModel();
    for (const reply of replies) model.respond(reply);
    return createAgent({ model, tools: createL402LangChainTools(paid), checkpointer });
  };
  return { api, paidFetch, agentWith };
}

type Agent = ReturnType<Awaited<ReturnType<typeof setUp>>['agentWith']>;
const thread = { configurable: { thread_id: 'run-1' } };

async function start(agent: Agent, text: string) {
  return agent.invoke({ messages: [new HumanMessage(text)] }, thread);
}

function question(state: { __interrupt__?: { value?: unknown }[] }): L402ApprovalInterrupt {
  const [first] = state.__interrupt__ ?? [];
  expect(first?.value).toMatchObject({ type: 'l402_payment_approval' });
  return first!.value as L402ApprovalInterrupt;
}

function answer(agent: Agent, id: string, approved: boolean) {
  return agent.invoke(new Command({ resume: { id, approved } }), thread);
}

function toolTexts(state: { messages: unknown[] }): string[] {
  return state.messages
    .filter((message) => ToolMessage.isInstance(message))
    .map((message) => (message as ToolMessage).text);
}

const host = (api: ApprovalApi) => new URL(api.url).host;

describe('@l402kit/langchain: interrupt() above approveAboveSats', () => {
  it('pays under the threshold without interrupting', async () => {
    const { api, agentWith } = await setUp();
    const agent = agentWith([fetchCall('call-1', `${api.url}/cheap`), new AIMessage('done')]);
    const state = await start(agent, 'Buy the cheap one.');
    expect(state.__interrupt__ ?? []).toHaveLength(0);
    expect(toolTexts(state)[0]).toContain('Paid 5 sats');
  });

  it('above it: pauses with the question, pays nothing, then pays exactly the approved amount', async () => {
    const { api, agentWith } = await setUp();
    const agent = agentWith([fetchCall('call-1', `${api.url}/report`), new AIMessage('done')]);
    const paused = await start(agent, 'Buy the report.');
    const asked = question(paused);
    expect(asked).toMatchObject({
      toolName: 'l402_fetch',
      amountSats: 25,
      host: host(api),
      payee: api.merchant.publicKey,
      description: 'Research report',
    });
    expect(api.network.payments).toHaveLength(0);

    const done = await answer(agent, asked.id, true);
    expect(done.__interrupt__ ?? []).toHaveLength(0);
    expect(toolTexts(done)).toEqual([expect.stringContaining('Paid 25 sats')]);
    expect(done.messages.at(-1)?.text).toBe('done');
    expect(api.merchant.balanceMsat).toBe(25_000n);
  });

  it('rejected: nothing paid, and the model reads that a person declined', async () => {
    const { api, agentWith } = await setUp();
    const agent = agentWith([fetchCall('call-1', `${api.url}/report`), new AIMessage('ok')]);
    const asked = question(await start(agent, 'Buy the report.'));
    const done = await answer(agent, asked.id, false);
    expect(toolTexts(done)).toEqual([
      `l402_fetch failed (APPROVAL_DENIED): A person declined paying 25 sats to ${host(api)}. Nothing was paid. The payment was declined; do not retry it unless the user asks you to.`,
    ]);
    expect(api.network.payments).toHaveLength(0);
  });

  it('the price raised between approval and payment: nothing paid, and the retry asks again', async () => {
    const { api, agentWith } = await setUp();
    const url = `${api.url}/report`;
    const agent = agentWith([fetchCall('call-1', url), fetchCall('call-2', url)]);
    const asked = question(await start(agent, 'Buy the report.'));
    api.setPrice(30);
    const again = await answer(agent, asked.id, true);

    expect(toolTexts(again)[0]).toContain('l402_fetch failed (APPROVAL_REQUIRED)');
    expect(toolTexts(again)[0]).toContain('the price rose above the 25 sats that was approved');
    expect(api.network.payments).toHaveLength(0);
    const second = question(again);
    expect(second.amountSats).toBe(30);
    expect(second.id).not.toBe(asked.id);
  });

  it('an answer replayed for a second call is not accepted: the person is asked again', async () => {
    const { api, agentWith } = await setUp();
    const agent = agentWith([
      fetchCall('call-1', `${api.url}/one`),
      fetchCall('call-2', `${api.url}/two`),
      new AIMessage('done'),
    ]);
    const first = question(await start(agent, 'Buy both.'));
    const afterFirst = await answer(agent, first.id, true);
    expect(api.merchant.balanceMsat).toBe(25_000n);
    const second = question(afterFirst);
    expect(second.url).toBe(`${api.url}/two`);

    // The first answer again, for the second question.
    const replayed = await answer(agent, first.id, true);
    expect(question(replayed).id).toBe(second.id);
    expect(api.merchant.balanceMsat).toBe(25_000n);
    expect(api.delivered.has('/two')).toBe(false);
  });

  it('resumed by tools that never asked (another process): asked again, never paid unseen', async () => {
    const { api, paidFetch, agentWith } = await setUp();
    const replies = [fetchCall('call-1', `${api.url}/report`), new AIMessage('done')];
    const asked = question(await start(agentWith(replies), 'Buy the report.'));
    const elsewhere = agentWith(replies.slice(1), paidFetch);
    const resumed = await answer(elsewhere, asked.id, true);
    expect(question(resumed).id).not.toBe(asked.id);
    expect(api.network.payments).toHaveLength(0);
  });
});
