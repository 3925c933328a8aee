import {
  createL402ToolApprovals,
  createL402Tools,
  type L402ToolApprovals,
  type L402ToolSpec,
  type L402ToolsOptions,
  type PaidFetch,
  runBudgetFromContext,
} from '@l402kit/core';
import { type DynamicStructuredTool, type ToolRunnableConfig, tool } from '@langchain/core/tools';
import { askPerson } from './ask-person.js';

/** A paid fetch, or the full options of `createL402Tools` (response size, opt-in tools). */
export type L402LangChainToolsOptions = PaidFetch | L402ToolsOptions;

// LangGraph hands tools the run's `context` beside the usual RunnableConfig.
type ToolConfig = ToolRunnableConfig & { context?: unknown };

/**
 * The l402kit tools as LangChain tools. With `approveAboveSats` in the policy, a call that
 * would pay more interrupts the LangGraph run (`interrupt()`) until it is resumed with
 * `Command({ resume: { id, approved } })`. The run budget comes from `withBudget(budget, ...)`
 * around the agent call, or from `{ context: { l402Budget } }` (LangGraph / `createAgent`) or
 * `{ configurable: { l402Budget } }` passed to `invoke`; the call's abort signal is honoured.
 */
export function createL402LangChainTools(
  options: L402LangChainToolsOptions,
): DynamicStructuredTool[] {
  const specs = createL402Tools(typeof options === 'function' ? { paidFetch: options } : options);
  const approvals = createL402ToolApprovals(specs);
  return specs.map((spec) => toLangChainTool(spec, approvals));
}

function toLangChainTool(spec: L402ToolSpec, approvals: L402ToolApprovals): DynamicStructuredTool {
  return tool(
    async (input, config: ToolConfig) => {
      const context = {
        budget: runBudgetFromContext(config?.context) ?? runBudgetFromContext(config?.configurable),
        signal: config?.signal,
      };
      const callId = config?.toolCall?.id;
      // Above approveAboveSats the graph is interrupted for the person (quoted, not paid).
      const asked =
        spec.quotePayment && callId !== undefined
          ? await askPerson(approvals, spec.name, input, callId, context)
          : {};
      if (asked.refusal !== undefined) return asked.refusal;
      return spec.execute(input, { ...context, approval: asked.approval });
    },
    { name: spec.name, description: spec.description, schema: spec.inputSchema },
  );
}
