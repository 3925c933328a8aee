import { type ResearchApi, startResearchApi } from '@l402kit/research-api';
import { createSandboxWallet } from '@l402kit/sandbox';
import { MockLanguageModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseModel } from './choose-model.js';
import { runResearch } from './run-research.js';

let api: ResearchApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function sandboxWithApi() {
  const sandbox = createSandboxWallet({ balanceSats: 1_000, feeBaseMsat: 100n, feeRatePpm: 2_000 });
  api = await startResearchApi({ wallet: sandbox.merchant.wallet });
  return { ...sandbox, api };
}

describe('AI SDK research agent with the offline planner', () => {
  it.each([
    { budgetSats: 2, articles: [0, 0] },
    { budgetSats: 25, articles: [1, 3] },
    { budgetSats: 150, articles: [3, 4] },
  ])(
    'with $budgetSats sats: cites what it bought; receipt equals the wallet change',
    async ({ budgetSats, articles }) => {
      const sandbox = await sandboxWithApi();
      const result = await runResearch({
        budgetSats,
        wallet: sandbox.wallet,
        apiUrl: sandbox.api.url,
        env: {},
      });
      const spentMsat = 1_000_000n - sandbox.payer.balanceMsat;
      expect(result.receipt.totalMsat).toBe(spentMsat);
      expect(spentMsat).toBeLessThanOrEqual(BigInt(budgetSats) * 1000n);
      const bought = sandbox.api.delivered.filter((path) => path.startsWith('/v1/articles/'));
      expect(bought.length).toBeGreaterThanOrEqual(articles[0]!);
      expect(bought.length).toBeLessThanOrEqual(articles[1]!);
      for (const [index, path] of bought.entries()) {
        expect(result.report).toMatch(new RegExp(`\\[${index + 1}\\] "[^"]+", .*${path}`));
      }
    },
  );

  it('keeps the budget when a scripted model tries to buy a 500-sat dataset', async () => {
    const sandbox = await sandboxWithApi();
    const greedy = new MockLanguageModelV4({
      doGenerate: [
        {
          content: [
            {
              type: 'tool-call',
              toolCallId: 'buy',
              toolName: 'l402_fetch',
              input: JSON.stringify({ url: `${sandbox.api.url}/v1/datasets/l402-endpoint-census` }),
            },
          ],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage: {
            inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
            outputTokens: { total: 0, text: 0, reasoning: 0 },
          },
          warnings: [],
        },
        {
          content: [{ type: 'text', text: 'Could not buy it.' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage: {
            inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
            outputTokens: { total: 0, text: 0, reasoning: 0 },
          },
          warnings: [],
        },
      ],
    });
    const result = await runResearch({
      budgetSats: 150,
      wallet: sandbox.wallet,
      apiUrl: sandbox.api.url,
      model: greedy,
      env: {},
    });
    expect(result.report).toBe('Could not buy it.');
    expect(sandbox.payer.balanceMsat).toBe(1_000_000n);
    const toolResult = JSON.stringify(greedy.doGenerateCalls[1]!.prompt);
    expect(toolResult).toContain('BUDGET_EXCEEDED');
  });

  it('uses a real model only when OPENAI_API_KEY is set', async () => {
    expect(await chooseModel({})).toBeInstanceOf(MockLanguageModelV4);
    const model = await chooseModel({ OPENAI_API_KEY: 'test', OPENAI_MODEL: 'qwen3' });
    expect(model).toMatchObject({ modelId: 'qwen3' });
  });
});
