import {
  createL402ToolApprovals,
  createL402Tools,
  type L402ToolApprovals,
  type L402ToolSpec,
  type L402ToolsOptions,
  type PaidFetch,
  RUN_BUDGET_KEY,
  runBudgetFromContext,
} from '@l402kit/core';
import { createTool, type Tool } from '@mastra/core/tools';
import { inputKey, rememberApprovals } from './approvals.js';

/** A paid fetch, or the full options of `createL402Tools` (response size, opt-in tools). */
export type L402MastraToolsOptions = PaidFetch | L402ToolsOptions;

/** A Mastra tool whose input is one of the l402kit tool schemas; its result is text. */
export type L402MastraTool = Tool<Record<string, unknown>, unknown>;

/**
 * The l402kit tools as Mastra tools, keyed by name for `new Agent({ tools })`. With
 * `approveAboveSats` in the policy, a call that would pay more waits for the agent's approval
 * flow (`approveToolCall` / `declineToolCall`). The run budget
 * comes from the request context (`requestContext.set('l402Budget', budget)`) or from
 * `withBudget(budget, ...)` around the agent call; the call's abort signal is honoured.
 */
export function createL402MastraTools(
  options: L402MastraToolsOptions,
): Record<string, L402MastraTool> {
  const specs = createL402Tools(typeof options === 'function' ? { paidFetch: options } : options);
  const approvals = createL402ToolApprovals(specs);
  const tools = Object.fromEntries(specs.map((spec) => [spec.name, toMastraTool(spec, approvals)]));
  return rememberApprovals(tools, approvals);
}

function toMastraTool(spec: L402ToolSpec, approvals: L402ToolApprovals): L402MastraTool {
  // How many times Mastra asked whether each waiting question needs approval. It asks once
  // when the call is made and once more when the run resumes after the person's yes; a call
  // asked about only once before it runs was resumed where the question was never put (another
  // process), and is not approved here.
  const checks = new Map<string, number>();
  return createTool({
    id: spec.name,
    description: spec.description,
    inputSchema: spec.inputSchema,
    // Mastra asks this per call with the input only (no call id), so a question is kept by
    // tool and input: re-checked on resume, it keeps the quote the person saw.
    ...(spec.quotePayment
      ? {
          requireApproval: async (input: Record<string, unknown>) => {
            const key = inputKey(spec.name, input);
            const asked = await approvals.check(spec.name, input, key);
            if (asked === undefined) {
              checks.delete(key);
              return false;
            }
            if (checks.size >= MAX_WAITING) checks.delete(checks.keys().next().value as string);
            checks.set(key, (checks.get(key) ?? 0) + 1);
            return true;
          },
        }
      : {}),
    execute: (input, context) => {
      const key = inputKey(spec.name, input);
      const resumed = (checks.get(key) ?? 0) >= 2;
      checks.delete(key);
      // Mastra runs a call that needed approval only after approveToolCall().
      const approval = resumed ? approvals.approve(key, spec.name, input) : undefined;
      if (!resumed && approvals.pending(key)) approvals.decline(key, spec.name);
      return spec.execute(input, {
        budget: runBudgetFromContext({
          [RUN_BUDGET_KEY]: context?.requestContext?.get(RUN_BUDGET_KEY),
        }),
        signal: context?.abortSignal,
        approval,
      });
    },
  });
}

const MAX_WAITING = 1_000;
