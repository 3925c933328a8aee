import type { L402ToolApprovals, ToolPaymentApproval } from '@l402kit/core';

const books = new WeakMap<object, L402ToolApprovals>();

export function rememberApprovals<T extends object>(tools: T, approvals: L402ToolApprovals): T {
  books.set(tools, approvals);
  return tools;
}

/**
 * What the person is asked to approve for this tool call (amount in sats, host, payee,
 * description and a one-line `message`), for the app's approval UI; undefined when the call
 * waits for nothing. `tools` is the set from `createL402AiSdkTools`.
 */
export function l402ApprovalRequest(
  tools: object,
  toolCallId: string,
): ToolPaymentApproval | undefined {
  return books.get(tools)?.pending(toolCallId);
}

/**
 * The person declined this call: forgets its quote and returns the `reason` to put in the
 * `tool-approval-response`, which the model then reads (a person declined, nothing was paid).
 */
export function l402DeclineReason(tools: object, toolCallId: string): string {
  const approvals = books.get(tools);
  if (!approvals) throw new TypeError('these are not tools made by createL402AiSdkTools');
  return approvals.decline(toolCallId);
}
