import {
  type Budget,
  createL402ToolApprovals,
  createL402Tools,
  type L402ToolApprovals,
  type L402ToolSpec,
  type L402ToolsOptions,
  type PaidFetch,
  runBudgetFromContext,
} from '@l402kit/core';
import type { ModelMessage, Tool } from 'ai';
import { rememberApprovals } from './approvals.js';

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
 * With `approveAboveSats` in the policy, a call that would pay more asks for approval through
 * the AI SDK's own flow (`needsApproval`), bound to the quoted price.
 */
export function createL402AiSdkTools(options: L402AiSdkToolsOptions): L402AiSdkToolSet {
  const specs = createL402Tools(typeof options === 'function' ? { paidFetch: options } : options);
  const approvals = createL402ToolApprovals(specs);
  const tools = Object.fromEntries(specs.map((spec) => [spec.name, toAiSdkTool(spec, approvals)]));
  return rememberApprovals(tools, approvals);
}

// The object `tool()` would return (it is an identity helper), written out because its typing
// insists on an object context; ours may be undefined, which keeps `toolsContext` optional.
function toAiSdkTool(spec: L402ToolSpec, approvals: L402ToolApprovals): L402AiSdkTool {
  return {
    description: spec.description,
    inputSchema: spec.inputSchema,
    ...(spec.quotePayment
      ? {
          // Quotes without paying; true sends an approval request to the app. On resume the
          // SDK asks again: the quote the person saw is kept, and none is made anew.
          needsApproval: async (input, { toolCallId, messages }) =>
            (await approvals.check(spec.name, input, toolCallId, undefined, {
              resumed: wasAskedFor(messages, toolCallId),
            })) !== undefined,
        }
      : {}),
    execute: (input, { toolCallId, abortSignal, context }) =>
      spec.execute(input, {
        budget: runBudgetFromContext(context),
        signal: abortSignal,
        // The SDK executes a call that needed approval only after the person approved it.
        approval: approvals.approve(toolCallId, spec.name, input),
      }),
  };
}

// Whether the conversation already holds an approval request for this call: a resumption.
function wasAskedFor(messages: ModelMessage[], toolCallId: string): boolean {
  return messages.some(
    (message) =>
      message.role === 'assistant' &&
      Array.isArray(message.content) &&
      message.content.some(
        (part) => part.type === 'tool-approval-request' && part.toolCallId === toolCallId,
      ),
  );
}
