import {
  type Budget,
  createL402Tools,
  type L402ToolSpec,
  type L402ToolsOptions,
  type PaidFetch,
  runBudgetFromContext,
} from '@l402kit/core';
import type { Tool } from 'ai';

/** A paid fetch, or the full options of `createL402Tools` (response size, opt-in tools). */
export type L402AiSdkToolsOptions = PaidFetch | L402ToolsOptions;

/** What an l402kit tool reads from `toolsContext`: the run budget, under `l402Budget`. */
export type L402ToolContext = { l402Budget?: Budget } | undefined;

export type L402AiSdkTool = Tool<Record<string, unknown>, string, L402ToolContext>;

/** The l402kit tools by name (`l402_fetch`, `l402_quote`, ...), a `ToolSet` for the AI SDK. */
export type L402AiSdkToolSet = Record<string, L402AiSdkTool>;

/**
 * The l402kit tools as an AI SDK `ToolSet` for `generateText`, `streamText` and
 * `ToolLoopAgent`. The run budget comes from `withBudget(budget, ...)` around the call, or from
 * `toolsContext: l402ToolsContext(budget)`; the call's `abortSignal` reaches the paid request.
 */
export function createL402AiSdkTools(options: L402AiSdkToolsOptions): L402AiSdkToolSet {
  const specs = createL402Tools(typeof options === 'function' ? { paidFetch: options } : options);
  return Object.fromEntries(specs.map((spec) => [spec.name, toAiSdkTool(spec)]));
}

// The object `tool()` would return (it is an identity helper), written out because its typing
// insists on an object context; ours may be undefined, which keeps `toolsContext` optional.
function toAiSdkTool(spec: L402ToolSpec): L402AiSdkTool {
  return {
    description: spec.description,
    inputSchema: spec.inputSchema,
    execute: (input, { abortSignal, context }) =>
      spec.execute(input, { budget: runBudgetFromContext(context), signal: abortSignal }),
  };
}
