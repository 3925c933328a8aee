import { createBudget, type Msat, satsToMsat, type Wallet, withBudget } from '@l402kit/core';
import { startResearchApi } from '@l402kit/research-api';
import { createL402LangChainTools, type L402ApprovalInterrupt } from '@l402kit/langchain';
import { Command, MemorySaver } from '@langchain/langgraph';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { BaseMessage } from '@langchain/core/messages';
import { createAgent } from 'langchain';
import { type AgentStep, finalAnswer, messagesIn, stepsOf } from './agent-messages.js';
import { chooseModel } from './choose-model.js';
import { createReceipt, type Receipt } from './receipt.js';
import { prepareResearchSetup } from './research-setup.js';
import {
  balanceOf,
  createResearchFetch,
  DEFAULT_QUESTION,
  researchSystemPrompt,
} from './research-task.js';

export { DEFAULT_QUESTION };

export interface ResearchOptions {
  question?: string;
  /** The most this run may spend, routing fees included. */
  budgetSats: number;
  /** Default: a real model when OPENAI_API_KEY is set, otherwise the offline planner. */
  model?: BaseChatModel;
  /** Default: L402KIT_WALLET when set, otherwise a funded sandbox wallet. */
  wallet?: Wallet;
  /** Default: the example research API started in-process (needs a sandbox wallet). */
  apiUrl?: string;
  /** Balance of the sandbox wallet made when no wallet is configured; default 1,000 sats. */
  sandboxBalanceSats?: number;
  env?: Record<string, string | undefined>;
  /** Each tool call, tool result and payment as it happens. */
  onProgress?: (event: ResearchProgress) => void;
  /** A person approves each purchase above this many sats (the agent pauses to ask). */
  approveAboveSats?: number;
  /**
   * Asks the person about one purchase (amount, host, title); only `true` buys. Without it,
   * every purchase above `approveAboveSats` is declined.
   */
  approve?: (question: L402ApprovalInterrupt) => boolean | Promise<boolean>;
}

export type ResearchProgress =
  | AgentStep
  | { type: 'payment'; item: string; amountMsat: Msat; feeMsat: Msat }
  | { type: 'approval'; question: L402ApprovalInterrupt; approved: boolean };

export interface ResearchResult {
  question: string;
  /** The model's final answer: findings with citations. */
  report: string;
  receipt: Receipt;
  modelName: string;
  walletName: string;
  apiUrl: string;
}

/**
 * One research run: a LangChain agent with the l402kit tools and a run budget, against the
 * example research API. Every payment is charged to the run budget, which the agent cannot
 * raise; the receipt is built from the payments l402kit made, not from what the model says.
 */
export async function runResearch(options: ResearchOptions): Promise<ResearchResult> {
  const env = options.env ?? process.env;
  const question = options.question ?? DEFAULT_QUESTION;
  const setup = await prepareResearchSetup({
    wallet: options.wallet,
    apiUrl: options.apiUrl,
    env,
    sandboxBalanceSats: options.sandboxBalanceSats,
    startApi: startResearchApi,
  });
  try {
    const { wallet, apiUrl } = setup;
    const progress = options.onProgress ?? (() => {});
    const { paidFetch, lines } = createResearchFetch(
      setup,
      (line) => progress({ type: 'payment', ...line }),
      { approveAboveSats: options.approveAboveSats },
    );
    const runBudget = createBudget({ name: 'research run', maxSats: options.budgetSats });
    const model = options.model ?? (await chooseModel(env));
    const agent = createAgent({
      model,
      tools: createL402LangChainTools(paidFetch),
      systemPrompt: researchSystemPrompt(apiUrl, options.budgetSats),
      // Pausing for a person's approval needs the run's state kept between the questions.
      checkpointer: new MemorySaver(),
    });
    const thread = { configurable: { thread_id: 'research run' } };

    const balanceBefore = await balanceOf(wallet);
    const messages: BaseMessage[] = [];
    await withBudget(runBudget, async () => {
      let input: unknown = { messages: [{ role: 'user', content: question }] };
      for (;;) {
        const stream = await agent.stream(input as never, {
          ...thread,
          streamMode: 'updates',
          recursionLimit: 40,
          context: { l402Budget: runBudget },
        });
        for await (const update of stream) {
          for (const message of messagesIn(update)) {
            messages.push(message);
            for (const step of stepsOf(message)) progress(step);
          }
        }
        // A purchase above approveAboveSats paused the run: ask the person, resume with the answer.
        const asked = await pendingQuestion(agent, thread);
        if (asked === undefined) break;
        const approved = (await options.approve?.(asked)) === true;
        progress({ type: 'approval', question: asked, approved });
        input = new Command({ resume: { id: asked.id, approved } });
      }
    });
    const balanceAfter = await balanceOf(wallet);

    const status = await runBudget.status();
    return {
      question,
      report: finalAnswer(messages) ?? '(the model gave no answer)',
      receipt: createReceipt(
        lines,
        { limitMsat: satsToMsat(options.budgetSats), remainingMsat: status.remainingMsat ?? 0n },
        { before: balanceBefore, after: balanceAfter },
      ),
      modelName: model._llmType(),
      walletName: wallet.name ?? 'wallet',
      apiUrl,
    };
  } finally {
    await setup.close();
  }
}

/** The l402kit approval question the run is paused on, if any. */
async function pendingQuestion(
  agent: { getState(config: object): Promise<{ tasks: { interrupts?: { value?: unknown }[] }[] }> },
  config: object,
): Promise<L402ApprovalInterrupt | undefined> {
  const state = await agent.getState(config);
  for (const task of state.tasks) {
    for (const interrupt of task.interrupts ?? []) {
      const value = interrupt.value as Partial<L402ApprovalInterrupt> | undefined;
      if (value?.type === 'l402_payment_approval') return value as L402ApprovalInterrupt;
    }
  }
  return undefined;
}
