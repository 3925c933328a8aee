import { createL402MastraTools, l402ApprovalRequest, l402DeclineReason } from '@l402kit/mastra';
import { Mastra } from '@mastra/core';
import { Agent } from '@mastra/core/agent';
import { InMemoryStore } from '@mastra/core/storage';
import { MastraLanguageModelV2Mock } from '@mastra/core/test-utils/llm-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApprovalApi, approvalPaidFetch, startApprovalApi } from './support/approval-api.js';

// @mastra/core declares Node >= 22.13; CI runs this file on Node 24.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const supported = major > 22 || (major === 22 && minor >= 13);

type CallOptions = Parameters<MastraLanguageModelV2Mock['doGenerate']>[0];

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function response(content: Record<string, unknown>[], finishReason: 'tool-calls' | 'stop') {
  return {
    content,
    finishReason,
    usage: { inputTokens: 10, outputTokens: 10, totalTokens: 20 },
    warnings: [],
  };
}

const fetchCall = (url: string, toolCallId: string) =>
  response(
    [{ type: 'tool-call', toolCallId, toolName: 'l402_fetch', input: JSON.stringify({ url }) }],
    'tool-calls',
  );

// Every tool result in the prompt, as text.
function resultsSeen(options: CallOptions): string[] {
  return options.prompt.flatMap((message) =>
    message.role !== 'tool'
      ? []
      : message.content.flatMap((part) => {
          if (part.type !== 'tool-result') return [];
          const { output } = part;
          return [
            output.type === 'text' || output.type === 'error-text'
              ? output.value
              : JSON.stringify(output.value),
          ];
        }),
  );
}

async function setUp(
  script: ((options: CallOptions) => unknown)[],
  storage: InMemoryStore = new InMemoryStore(),
) {
  const api = await startApprovalApi();
  closers.push(api.close);
  const paidFetch = approvalPaidFetch(api);
  const tools = createL402MastraTools(paidFetch);
  const calls: CallOptions[] = [];
  const model = new MastraLanguageModelV2Mock({
    doGenerate: async (options) => {
      calls.push(options);
      const step = script[calls.length - 1];
      if (!step) return response([{ type: 'text', text: 'end' }], 'stop') as never;
      return step(options) as never;
    },
  });
  // A suspended run is resumed from storage.
  const mastra = new Mastra({
    agents: {
      researcher: new Agent({
        id: 'researcher',
        name: 'researcher',
        instructions: 'Buy reports.',
        model,
        tools,
      }),
    },
    storage,
    logger: false,
  });
  const agent = mastra.getAgent('researcher');
  const elsewhere = () => {
    // Another process: its own tools (so its own questions), the same storage.
    const other = new Mastra({
      agents: {
        researcher: new Agent({
          id: 'researcher',
          name: 'researcher',
          instructions: 'Buy reports.',
          model,
          tools: createL402MastraTools(paidFetch),
        }),
      },
      storage,
      logger: false,
    });
    return other.getAgent('researcher');
  };
  return { api, tools, agent, calls, elsewhere };
}

const host = (api: ApprovalApi) => new URL(api.url).host;
const answerWithResults = (options: CallOptions) =>
  response([{ type: 'text', text: resultsSeen(options).join('\n') || 'none' }], 'stop');

describe.skipIf(!supported)('@l402kit/mastra: requireApproval above approveAboveSats', () => {
  it('pays under the threshold without suspending', async () => {
    let url = '';
    const { api, agent } = await setUp([() => fetchCall(url, 'call-1'), answerWithResults]);
    url = `${api.url}/cheap`;
    const result = await agent.generate('Buy the cheap one.', { maxSteps: 5 });
    expect(result.finishReason).not.toBe('suspended');
    expect(result.text).toContain('Paid 5 sats');
  });

  it('above it: suspends, pays nothing, then pays exactly the approved amount', async () => {
    let url = '';
    const { api, agent, tools } = await setUp([() => fetchCall(url, 'call-1'), answerWithResults]);
    url = `${api.url}/report`;
    const first = await agent.generate('Buy the report.', { maxSteps: 5 });
    expect(first.finishReason).toBe('suspended');
    expect(api.network.payments).toHaveLength(0);
    expect(l402ApprovalRequest(tools, 'l402_fetch', { url })).toMatchObject({
      amountSats: 25,
      host: host(api),
      payee: api.merchant.publicKey,
      description: 'Research report',
    });

    const done = await agent.approveToolCallGenerate({
      runId: first.runId!,
      toolCallId: 'call-1',
      maxSteps: 5,
    });
    expect(done.text).toContain('Paid 25 sats');
    expect(api.merchant.balanceMsat).toBe(25_000n);
  });

  it('declined: nothing paid, and the model reads that a person declined', async () => {
    let url = '';
    const { api, agent, tools, calls } = await setUp([
      () => fetchCall(url, 'call-1'),
      answerWithResults,
    ]);
    url = `${api.url}/report`;
    const first = await agent.generate('Buy the report.', { maxSteps: 5 });
    const reason = l402DeclineReason(tools, 'l402_fetch', { url });
    await agent.declineToolCallGenerate({
      runId: first.runId!,
      toolCallId: 'call-1',
      reason,
      maxSteps: 5,
    });
    expect(JSON.stringify(calls.at(-1)?.prompt)).toContain(
      `A person declined paying 25 sats to ${host(api)}`,
    );
    expect(api.network.payments).toHaveLength(0);
  });

  it('the price raised between approval and payment: nothing paid, and the retry suspends again', async () => {
    let url = '';
    const { api, agent, tools } = await setUp([
      () => fetchCall(url, 'call-1'),
      () => fetchCall(url, 'call-2'),
    ]);
    url = `${api.url}/report`;
    const first = await agent.generate('Buy the report.', { maxSteps: 5 });
    api.setPrice(30);
    const again = await agent.approveToolCallGenerate({
      runId: first.runId!,
      toolCallId: 'call-1',
      maxSteps: 5,
    });
    expect(api.network.payments).toHaveLength(0);
    expect(again.finishReason).toBe('suspended');
    expect(l402ApprovalRequest(tools, 'l402_fetch', { url })?.amountSats).toBe(30);
  });

  it('an approval is for its own call: a second purchase suspends again', async () => {
    let base = '';
    const { api, agent } = await setUp([
      () => fetchCall(`${base}/one`, 'call-1'),
      () => fetchCall(`${base}/two`, 'call-2'),
    ]);
    base = api.url;
    const first = await agent.generate('Buy both.', { maxSteps: 5 });
    const second = await agent.approveToolCallGenerate({
      runId: first.runId!,
      toolCallId: 'call-1',
      maxSteps: 5,
    });
    expect(api.merchant.balanceMsat).toBe(25_000n);
    expect(second.finishReason).toBe('suspended');
    expect(api.delivered.has('/two')).toBe(false);
  });

  it('resumed by tools that never asked (another process): refused, never paid at a price nobody saw', async () => {
    let url = '';
    const { api, agent, elsewhere } = await setUp([
      () => fetchCall(url, 'call-1'),
      answerWithResults,
    ]);
    url = `${api.url}/report`;
    const first = await agent.generate('Buy the report.', { maxSteps: 5 });
    const done = await elsewhere().approveToolCallGenerate({
      runId: first.runId!,
      toolCallId: 'call-1',
      maxSteps: 5,
    });
    expect(done.text).toContain('l402_fetch failed (APPROVAL_REQUIRED)');
    expect(api.network.payments).toHaveLength(0);
  });
});
