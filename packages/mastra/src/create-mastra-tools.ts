import {
  createL402Tools,
  type L402ToolSpec,
  type L402ToolsOptions,
  type PaidFetch,
  RUN_BUDGET_KEY,
  runBudgetFromContext,
} from '@l402kit/core';
import { createTool, type Tool } from '@mastra/core/tools';

/** A paid fetch, or the full options of `createL402Tools` (response size, opt-in tools). */
export type L402MastraToolsOptions = PaidFetch | L402ToolsOptions;

/** A Mastra tool whose input is one of the l402kit tool schemas; its result is text. */
export type L402MastraTool = Tool<Record<string, unknown>, unknown>;

/**
 * The l402kit tools as Mastra tools, keyed by name for `new Agent({ tools })`. The run budget
 * comes from the request context (`requestContext.set('l402Budget', budget)`) or from
 * `withBudget(budget, ...)` around the agent call; the call's abort signal is honoured.
 */
export function createL402MastraTools(
  options: L402MastraToolsOptions,
): Record<string, L402MastraTool> {
  const specs = createL402Tools(typeof options === 'function' ? { paidFetch: options } : options);
  return Object.fromEntries(specs.map((spec) => [spec.name, toMastraTool(spec)]));
}

function toMastraTool(spec: L402ToolSpec): L402MastraTool {
  return createTool({
    id: spec.name,
    description: spec.description,
    inputSchema: spec.inputSchema,
    execute: (input, context) =>
      spec.execute(input, {
        budget: runBudgetFromContext({
          [RUN_BUDGET_KEY]: context?.requestContext?.get(RUN_BUDGET_KEY),
        }),
        signal: context?.abortSignal,
      }),
  });
}
