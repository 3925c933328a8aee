// A person approves payments above approveAboveSats through the AI SDK's own approval flow:
// the tool's needsApproval quotes (no payment), the request reaches the app as an approval
// part, and the next generateText resumes with the person's answer. Real paywall, sandbox
// payments, the AI SDK's MockLanguageModelV4.
import type { PaidFetch } from '@l402kit/core';
import { createL402AiSdkTools, l402ApprovalRequest, l402DeclineReason } from '@l402kit/ai-sdk';
import { generateText, isStepCount, type ModelMessage } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalPaidFetch, startApprovalApi } from './support/approval-api.js';

type GenerateResult = Awaited<ReturnType<MockLanguageModelV4['doGenerate']>>;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

function fetchCall(toolCallId: string, url: string): GenerateResult {
  return {
    content: [
      { type: 'tool-call', toolCallId, toolName: 'l402_fetch', input: JSON.stringify({ url }) },
    ],
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

async function setUp() {
  const api = await startApprovalApi();
  closers.push(api.close);
  const paidFetch = approvalPaidFetch(api);
  return { api, paidFetch, tools: createL402AiSdkTools(paidFetch) };
}

type Tools = ReturnType<typeof createL402AiSdkTools>;

/** The first turn: the model asks for `url`; returns the approval requests and the messages so far. */
async function ask(tools: Tools, model: MockLanguageModelV4, prompt: string) {
  const result = await generateText({ model, tools, stopWhen: isStepCount(5), prompt });
  const requests = result.content.filter((part) => part.type === 'tool-approval-request');
  const messages: ModelMessage[] = [{ role: 'user', content: prompt }, ...result.response.messages];
  return { result, requests, messages };
}

/** The next turn, with the person's answer to an approval request. */
function resume(
  tools: Tools,
  model: MockLanguageModelV4,
  messages: ModelMessage[],
  approvalId: string,
  approved: boolean,
  reason?: string,
) {
  return generateText({
    model,
    tools,
    stopWhen: isStepCount(5),
    messages: [
      ...messages,
      {
        role: 'tool',
        content: [
          { type: 'tool-approval-response', approvalId, approved, ...(reason ? { reason } : {}) },
        ],
      },
    ],
  });
}

function toolOutputs(result: { steps: { toolResults: { output: unknown }[] }[] }): string[] {
  return result.steps.flatMap((step) => step.toolResults).map((each) => String(each.output));
}

/** The tool results the model was given in its last call (a resumed call's results go there). */
function resultsSeen(model: MockLanguageModelV4): string[] {
  return (model.doGenerateCalls.at(-1)?.prompt ?? [])
    .flatMap((message) => (message.role === 'tool' ? message.content : []))
    .map((part) => (part.type === 'tool-result' ? JSON.stringify(part.output) : ''));
}

function lastPrompt(model: MockLanguageModelV4): string {
  return JSON.stringify(model.doGenerateCalls.at(-1)?.prompt);
}

async function forgetTokens(paidFetch: PaidFetch) {
  for (const token of await paidFetch.tokenStore.list())
    await paidFetch.tokenStore.delete(token.key);
}

describe('@l402kit/ai-sdk: needsApproval above approveAboveSats', () => {
  it('pays under the threshold without asking', async () => {
    const { api, tools } = await setUp();
    const model = new MockLanguageModelV4({
      doGenerate: [fetchCall('call-1', `${api.url}/cheap`), answer('done')],
    });
    const { result, requests } = await ask(tools, model, 'Buy the cheap one.');
    expect(requests).toHaveLength(0);
    expect(toolOutputs(result)[0]).toContain('Paid 5 sats');
    expect(api.merchant.balanceMsat).toBe(5_000n);
  });

  it('above it: pauses with an approval part, pays nothing, then pays exactly the approved amount', async () => {
    const { api, tools } = await setUp();
    const model = new MockLanguageModelV4({
      doGenerate: [fetchCall('call-1', `${api.url}/report`), answer('Here is the report.')],
    });
    const { result, requests, messages } = await ask(tools, model, 'Buy the report.');

    expect(requests).toHaveLength(1);
    expect(requests[0]!.toolCall).toMatchObject({ toolName: 'l402_fetch', toolCallId: 'call-1' });
    expect(toolOutputs(result)).toEqual([]);
    expect(api.network.payments).toHaveLength(0);
    expect(api.delivered.size).toBe(0);
    // What the app shows the person.
    expect(l402ApprovalRequest(tools, 'call-1')).toMatchObject({
      amountSats: 25,
      host: new URL(api.url).host,
      payee: api.merchant.publicKey,
      description: 'Research report',
    });

    const resumed = await resume(tools, model, messages, requests[0]!.approvalId, true);
    expect(resultsSeen(model)).toEqual([expect.stringContaining('Paid 25 sats')]);
    expect(resumed.text).toBe('Here is the report.');
    expect(api.merchant.balanceMsat).toBe(25_000n);
    expect(api.network.payments).toHaveLength(1);
  });

  it('rejected: nothing is paid and the model reads that a person declined', async () => {
    const { api, tools } = await setUp();
    const model = new MockLanguageModelV4({
      doGenerate: [fetchCall('call-1', `${api.url}/report`), answer('I could not buy it.')],
    });
    const { requests, messages } = await ask(tools, model, 'Buy the report.');
    const reason = l402DeclineReason(tools, 'call-1');

    const resumed = await resume(tools, model, messages, requests[0]!.approvalId, false, reason);
    expect(resumed.text).toBe('I could not buy it.');
    expect(lastPrompt(model)).toContain('execution-denied');
    expect(lastPrompt(model)).toContain(
      `A person declined paying 25 sats to ${new URL(api.url).host}. Nothing was paid.`,
    );
    expect(api.network.payments).toHaveLength(0);
    expect(l402ApprovalRequest(tools, 'call-1')).toBeUndefined();
  });

  it('the price raised between approval and payment: nothing paid, and the retry is asked again', async () => {
    const { api, tools } = await setUp();
    const url = `${api.url}/report`;
    const model = new MockLanguageModelV4({
      doGenerate: [fetchCall('call-1', url), fetchCall('call-2', url), answer('unreachable')],
    });
    const { requests, messages } = await ask(tools, model, 'Buy the report.');
    api.setPrice(30);

    const resumed = await resume(tools, model, messages, requests[0]!.approvalId, true);
    const [refused] = resultsSeen(model);
    expect(refused).toContain('l402_fetch failed (APPROVAL_REQUIRED)');
    expect(refused).toContain('the price rose above the 25 sats that was approved');
    expect(api.network.payments).toHaveLength(0);
    // The model tried again: the new call waits for the person, at the new price.
    const again = resumed.content.filter((part) => part.type === 'tool-approval-request');
    expect(again.map((part) => part.toolCall.toolCallId)).toEqual(['call-2']);
    expect(l402ApprovalRequest(tools, 'call-2')?.amountSats).toBe(30);
  });

  it('an approval replayed for a second call is not accepted', async () => {
    const { api, paidFetch, tools } = await setUp();
    const model = new MockLanguageModelV4({
      doGenerate: [fetchCall('call-1', `${api.url}/report`), answer('first'), answer('second')],
    });
    const { requests, messages } = await ask(tools, model, 'Buy the report.');
    await resume(tools, model, messages, requests[0]!.approvalId, true);
    expect(api.merchant.balanceMsat).toBe(25_000n);
    // The resource must be bought again (token gone), and the same approval is sent again.
    await forgetTokens(paidFetch);

    await resume(tools, model, messages, requests[0]!.approvalId, true);
    expect(resultsSeen(model)).toEqual([
      expect.stringContaining('l402_fetch failed (APPROVAL_REQUIRED)'),
    ]);
    expect(api.merchant.balanceMsat).toBe(25_000n);
    expect(api.network.payments).toHaveLength(1);
  });

  it('a call resumed by tools that never asked (another process) is refused, not paid unseen', async () => {
    const { api, paidFetch, tools } = await setUp();
    const model = new MockLanguageModelV4({
      doGenerate: [fetchCall('call-1', `${api.url}/report`), answer('done')],
    });
    const { requests, messages } = await ask(tools, model, 'Buy the report.');
    const elsewhere = createL402AiSdkTools(paidFetch);
    await resume(elsewhere, model, messages, requests[0]!.approvalId, true);
    expect(resultsSeen(model)).toEqual([
      expect.stringContaining('l402_fetch failed (APPROVAL_REQUIRED)'),
    ]);
    expect(api.network.payments).toHaveLength(0);
  });
});
