import { type ResearchApi, startResearchApi } from '@l402kit/research-api';
import { createSandboxWallet, type SandboxWalletSetup } from '@l402kit/sandbox';
import { AIMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseModel } from './choose-model.js';
import { OfflinePlannerModel } from './offline-planner-model.js';
import { formatReceipt } from './receipt.js';
import { runResearch } from './run-research.js';

let api: ResearchApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function sandboxWithApi(): Promise<SandboxWalletSetup & { api: ResearchApi }> {
  const sandbox = createSandboxWallet({ balanceSats: 1_000, feeBaseMsat: 100n, feeRatePpm: 2_000 });
  api = await startResearchApi({ wallet: sandbox.merchant.wallet });
  return { ...sandbox, api };
}

describe('research agent with the offline planner', () => {
  it.each([
    { budgetSats: 2, expectArticles: [0, 0] },
    { budgetSats: 25, expectArticles: [1, 3] },
    { budgetSats: 150, expectArticles: [3, 4] },
  ])(
    'with $budgetSats sats: cites what it bought, and the receipt is the wallet change',
    async ({ budgetSats, expectArticles }) => {
      const sandbox = await sandboxWithApi();
      const result = await runResearch({
        budgetSats,
        wallet: sandbox.wallet,
        apiUrl: sandbox.api.url,
        env: {},
      });
      const spentMsat = 1_000_000n - sandbox.payer.balanceMsat;

      // The receipt is exactly what left the wallet, and never more than the budget.
      expect(result.receipt.totalMsat).toBe(spentMsat);
      expect(result.receipt.balanceBeforeMsat! - result.receipt.balanceAfterMsat!).toBe(spentMsat);
      expect(spentMsat).toBeLessThanOrEqual(BigInt(budgetSats) * 1000n);
      expect(result.receipt.remainingMsat).toBe(BigInt(budgetSats) * 1000n - spentMsat);
      expect(sandbox.merchant.balanceMsat).toBe(
        result.receipt.lines.reduce((sum, line) => sum + line.amountMsat, 0n),
      );
      expect(formatReceipt(result.receipt)).toContain(`change: `);

      // Every bought article is delivered once and cited in the report.
      const articles = sandbox.api.delivered.filter((path) => path.startsWith('/v1/articles/'));
      expect(articles.length).toBeGreaterThanOrEqual(expectArticles[0]!);
      expect(articles.length).toBeLessThanOrEqual(expectArticles[1]!);
      expect(new Set(articles).size).toBe(articles.length);
      expect(sandbox.api.delivered).not.toContain('/v1/datasets/l402-endpoint-census');
      for (const [index, path] of articles.entries()) {
        expect(result.report).toMatch(new RegExp(`\\[${index + 1}\\] "[^"]+", .*${path}`));
      }
      if (articles.length === 0) expect(result.report).toContain('could not buy any source');
      else expect(result.report).toMatch(/## Findings\n- .+ \[1\]/);
      expect(result.receipt.lines.map((line) => new URL(line.url).pathname)).toEqual(
        sandbox.api.delivered,
      );
    },
  );

  it('reacts to the budget: a bigger budget buys more, or better, sources', async () => {
    const runs = [];
    for (const budgetSats of [25, 150]) {
      const sandbox = await sandboxWithApi();
      runs.push(
        await runResearch({ budgetSats, wallet: sandbox.wallet, apiUrl: sandbox.api.url, env: {} }),
      );
      await api?.close();
      api = undefined;
    }
    expect(runs[1]!.receipt.totalMsat).toBeGreaterThan(runs[0]!.receipt.totalMsat);
    expect(runs[1]!.report).toContain('Protocol Press');
  });

  it('runs with no configuration: sandbox wallet and the API in-process', async () => {
    const result = await runResearch({ budgetSats: 40, env: {} });
    expect(result.modelName).toBe('l402kit-offline-planner');
    expect(result.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(result.receipt.lines.length).toBeGreaterThan(1);
    expect(result.receipt.balanceBeforeMsat! - result.receipt.balanceAfterMsat!).toBe(
      result.receipt.totalMsat,
    );
  });

  it('holds the budget even when the model asks for more than it may spend', async () => {
    const sandbox = await sandboxWithApi();
    const greedy = fakeModel()
      .respondWithTools([
        {
          name: 'l402_fetch',
          args: { url: `${sandbox.api.url}/v1/datasets/l402-endpoint-census` },
        },
      ])
      .respond(new AIMessage('Done.'));
    const result = await runResearch({
      budgetSats: 150,
      wallet: sandbox.wallet,
      apiUrl: sandbox.api.url,
      model: greedy,
      env: {},
    });
    expect(sandbox.payer.balanceMsat).toBe(1_000_000n);
    expect(result.receipt.totalMsat).toBe(0n);
    expect(sandbox.api.delivered).toEqual([]);
  });

  it('with approveAboveSats: asks before each purchase above it and buys only what is approved', async () => {
    const sandbox = await sandboxWithApi();
    const asked: { amountSats: number; host: string; description?: string; url: string }[] = [];
    const progress: string[] = [];
    const result = await runResearch({
      budgetSats: 150,
      wallet: sandbox.wallet,
      apiUrl: sandbox.api.url,
      env: {},
      approveAboveSats: 5,
      // The scripted person: yes to the first purchase above 5 sats, no to the rest.
      approve: (question) => {
        asked.push(question);
        return asked.length === 1;
      },
      onProgress: (event) => {
        if (event.type === 'approval') progress.push(`${event.approved}`);
      },
    });

    expect(asked.length).toBeGreaterThanOrEqual(2);
    for (const question of asked) {
      expect(question.amountSats).toBeGreaterThan(5);
      expect(question.host).toBe(new URL(sandbox.api.url).host);
      expect(question.description).toBeTruthy();
    }
    expect(progress).toEqual(['true', ...asked.slice(1).map(() => 'false')]);
    const bought = result.receipt.lines.map((line) => new URL(line.url).pathname);
    const approvedPath = new URL(asked[0]!.url).pathname;
    // Above 5 sats only the approved one was bought, at the price the person saw.
    const dear = result.receipt.lines.filter((line) => line.amountMsat > 5_000n);
    expect(dear.map((line) => new URL(line.url).pathname)).toEqual([approvedPath]);
    expect(dear[0]!.amountMsat).toBe(BigInt(asked[0]!.amountSats * 1000));
    for (const question of asked.slice(1)) {
      expect(bought).not.toContain(new URL(question.url).pathname);
      expect(sandbox.api.delivered).not.toContain(new URL(question.url).pathname);
    }
  });

  it('with approveAboveSats and nobody to ask: nothing above it is bought', async () => {
    const sandbox = await sandboxWithApi();
    const result = await runResearch({
      budgetSats: 150,
      wallet: sandbox.wallet,
      apiUrl: sandbox.api.url,
      env: {},
      approveAboveSats: 5,
    });
    expect(result.receipt.lines.every((line) => line.amountMsat <= 5_000n)).toBe(true);
  });

  it('uses a real model only when OPENAI_API_KEY is set', async () => {
    expect(await chooseModel({})).toBeInstanceOf(OfflinePlannerModel);
    const model = await chooseModel({
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
    });
    expect(model._llmType()).toBe('openai');
  });

  it('refuses a real wallet without an API it can pay', async () => {
    const { wallet } = createSandboxWallet();
    await expect(
      runResearch({ budgetSats: 10, wallet: { ...wallet, name: 'real' }, env: {} }),
    ).rejects.toMatchObject({ code: 'WALLET_CONFIG' });
  });
});
