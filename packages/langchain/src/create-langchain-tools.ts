import {
  createL402Tools,
  type L402ToolSpec,
  type L402ToolsOptions,
  type PaidFetch,
  runBudgetFromContext,
} from '@l402kit/core';
import { type DynamicStructuredTool, type ToolRunnableConfig, tool } from '@langchain/core/tools';

/** A paid fetch, or the full options of `createL402Tools` (response size, opt-in tools). */
export type L402LangChainToolsOptions = PaidFetch | L402ToolsOptions;

// LangGraph hands tools the run's `context` beside the usual RunnableConfig.
type ToolConfig = ToolRunnableConfig & { context?: unknown };

/**
 * The l402kit tools as LangChain tools. The run budget comes from `withBudget(budget, ...)`
 * around the agent call, or from `{ context: { l402Budget } }` (LangGraph / `createAgent`) or
 * `{ configurable: { l402Budget } }` passed to `invoke`; the call's abort signal is honoured.
 */
export function createL402LangChainTools(
  options: L402LangChainToolsOptions,
): DynamicStructuredTool[] {
  const specs = createL402Tools(typeof options === 'function' ? { paidFetch: options } : options);
  return specs.map(toLangChainTool);
}

function toLangChainTool(spec: L402ToolSpec): DynamicStructuredTool {
  return tool(
    (input, config: ToolConfig) =>
      spec.execute(input, {
        budget: runBudgetFromContext(config?.context) ?? runBudgetFromContext(config?.configurable),
        signal: config?.signal,
      }),
    { name: spec.name, description: spec.description, schema: spec.inputSchema },
  );
}
