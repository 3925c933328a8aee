import { type L402ToolApprovals, type ToolPaymentApproval, toolCallKey } from '@l402kit/core';

const books = new WeakMap<object, L402ToolApprovals>();

export function rememberApprovals<T extends object>(tools: T, approvals: L402ToolApprovals): T {
  books.set(tools, approvals);
  return tools;
}

function bookOf(tools: object): L402ToolApprovals {
  const approvals = books.get(tools);
  if (!approvals) throw new TypeError('these are not tools made by createL402MastraTools');
  return approvals;
}

/** The key a question is kept under: Mastra's approval check sees the input, not the call id. */
export function inputKey(toolName: string, input: unknown): string {
  return toolCallKey(toolName, input);
}

/**
 * What the person is asked to approve for a suspended call (its tool name and args, from the
 * `tool-call-approval` chunk or `suspendPayload`): amount in sats, host, payee, description
 * and a one-line `message`; undefined when it waits for nothing.
 */
export function l402ApprovalRequest(
  tools: object,
  toolName: string,
  args: unknown,
): ToolPaymentApproval | undefined {
  return bookOf(tools).pending(inputKey(toolName, args));
}

/**
 * The person declined: forgets the question and returns the `reason` for
 * `declineToolCall({ runId, toolCallId, reason })`, which tells the model a person declined.
 */
export function l402DeclineReason(tools: object, toolName: string, args: unknown): string {
  return bookOf(tools).decline(inputKey(toolName, args), toolName);
}
