import { createL402AiSdkTools, l402ToolsContext } from '@l402kit/ai-sdk';
import { createBudget, type Msat, satsToMsat, type Wallet, withBudget } from '@l402kit/core';
import { startResearchApi } from '@l402kit/research-api';
import {
  balanceOf,
  createReceipt,
  createResearchFetch,
  DEFAULT_QUESTION,
  prepareResearchSetup,
  type Receipt,
  researchSystemPrompt,
} from '@l402kit/example-research-agent/shared';
import { generateText, isStepCount, type LanguageModel } from 'ai';
import { chooseModel } from './choose-model.js';

export interface ResearchOptions {
  question?: string;
  /** The most this run may spend, routing fees included. */
  budgetSats: number;
  /** Default: a real model when OPENAI_API_KEY is set, otherwise the offline planner. */
  model?: LanguageModel;
  /** Default: L402KIT_WALLET when set, otherwise a funded sandbox wallet. */
  wallet?: Wallet;
  /** Default: the example research API started in-process (needs a sandbox wallet). */
  apiUrl?: string;
  sandboxBalanceSats?: number;
  env?: Record<string, string | undefined>;
  onProgress?: (event: ResearchProgress) => void;
}

export type ResearchProgress =
  | { type: 'tool-call'; name: string; input: unknown }
  | { type: 'payment'; item: string; amountMsat: Msat; feeMsat: Msat };

export interface ResearchResult {
  question: string;
  report: string;
  receipt: Receipt;
  apiUrl: string;
}

/** One research run with the AI SDK's `generateText` and the l402kit tools, under a run budget. */
export async function runResearch(options: ResearchOptions): Promise<ResearchResult> {
  const env = options.env ?? process.env;
  const question = options.question ?? DEFAULT_QUESTION;
  const progress = options.onProgress ?? (() => {});
  const setup = await prepareResearchSetup({
    wallet: options.wallet,
    apiUrl: options.apiUrl,
    env,
    sandboxBalanceSats: options.sandboxBalanceSats,
    startApi: startResearchApi,
  });
  try {
    const { wallet, apiUrl } = setup;
    const { paidFetch, lines } = createResearchFetch(setup, (line) =>
      progress({ type: 'payment', ...line }),
    );
    const runBudget = createBudget({ name: 'research run', maxSats: options.budgetSats });
    const model = options.model ?? (await chooseModel(env));

    const balanceBefore = await balanceOf(wallet);
    const result = await withBudget(runBudget, () =>
      generateText({
        model,
        system: researchSystemPrompt(apiUrl, options.budgetSats),
        prompt: question,
        tools: createL402AiSdkTools(paidFetch),
        toolsContext: l402ToolsContext(runBudget),
        stopWhen: isStepCount(30),
        onStepFinish: (step) => {
          for (const call of step.toolCalls) {
            progress({ type: 'tool-call', name: call.toolName, input: call.input });
          }
        },
      }),
    );
    const balanceAfter = await balanceOf(wallet);
    return {
      question,
      report: result.text,
      receipt: createReceipt(
        lines,
        {
          limitMsat: satsToMsat(options.budgetSats),
          remainingMsat: (await runBudget.status()).remainingMsat ?? 0n,
        },
        { before: balanceBefore, after: balanceAfter },
      ),
      apiUrl,
    };
  } finally {
    await setup.close();
  }
}
