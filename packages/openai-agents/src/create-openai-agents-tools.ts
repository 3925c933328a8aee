import {
  BudgetConfigError,
  createL402ToolApprovals,
  createL402Tools,
  type L402ToolApprovals,
  formatToolError,
  type L402ToolSpec,
  type L402ToolsOptions,
  type PaidFetch,
  runBudgetFromContext,
} from '@l402kit/core';
import { type FunctionTool, type RunContext, tool } from '@openai/agents';
import { rememberApprovals } from './approvals.js';

/** A paid fetch, or the full options of `createL402Tools` (response size, opt-in tools). */
export type L402OpenAIAgentsToolsOptions = PaidFetch | L402ToolsOptions;

// The SDK's shape of a non-strict JSON Schema (its own type is not exported).
type Parameters = {
  type: 'object';
  properties: Record<string, unknown>;
  required: string[];
  additionalProperties: true;
};

/**
 * The l402kit tools as OpenAI Agents SDK function tools. The run budget comes from
 * `run(agent, input, { context: { l402Budget } })` or from `withBudget(budget, ...)` around
 * the run; the call's abort signal is honoured. With `approveAboveSats` in the policy, a call
 * that would pay more is an interruption (`result.interruptions`) until the person decides
 * with `state.approve()` / `state.reject()`.
 */
export function createL402OpenAIAgentsTools(
  options: L402OpenAIAgentsToolsOptions,
): FunctionTool<unknown, Parameters, string>[] {
  const specs = createL402Tools(typeof options === 'function' ? { paidFetch: options } : options);
  const approvals = createL402ToolApprovals(specs);
  return rememberApprovals(
    specs.map((spec) => toAgentsTool(spec, approvals)),
    approvals,
  );
}

function toAgentsTool(
  spec: L402ToolSpec,
  approvals: L402ToolApprovals,
): FunctionTool<unknown, Parameters, string> {
  // Non-strict: OpenAI's strict mode refuses open objects such as l402_fetch's `headers`, so
  // the model gets the plain JSON Schema and the spec's zod schema checks the arguments here.
  const { $schema: _, ...parameters } = spec.inputSchema.toJSONSchema();
  return tool({
    name: spec.name,
    description: spec.description,
    parameters: parameters as Parameters,
    strict: false,
    ...(spec.quotePayment
      ? {
          // Quotes without paying; true interrupts the run until a person decides. A call
          // already decided (a restored or replayed run) is never quoted anew.
          needsApproval: async (runContext: RunContext, input: unknown, callId?: string) =>
            callId !== undefined &&
            (await approvals.check(spec.name, asRecord(input), callId, undefined, {
              resumed: runContext.isToolApproved({ toolName: spec.name, callId }) !== undefined,
            })) !== undefined,
        }
      : {}),
    execute: async (input, runContext, details) => {
      const parsed = spec.inputSchema.safeParse(input);
      if (!parsed.success) {
        const problems = parsed.error.issues.map(
          (issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`,
        );
        return `${spec.name} failed: invalid arguments (${problems.join('; ')}). Nothing was paid.`;
      }
      const callId = details?.toolCall?.callId;
      return spec.execute(parsed.data, {
        budget: runBudgetFromContext(runContext?.context),
        signal: details?.signal,
        // The SDK runs a call that needed approval only after state.approve().
        ...(callId === undefined
          ? {}
          : { approval: approvals.approve(callId, spec.name, asRecord(input)) }),
      });
    },
    // A misconfigured run budget is the developer's mistake: fail the run instead of telling
    // the model. Anything else (none expected: execute reports failures as text) goes to it.
    errorFunction: (_runContext, error) => {
      if (error instanceof BudgetConfigError) throw error;
      return formatToolError(spec.name, error);
    },
  });
}

function asRecord(input: unknown): Record<string, unknown> {
  return typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
}
