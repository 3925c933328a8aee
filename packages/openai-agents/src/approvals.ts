import type { L402ToolApprovals, ToolPaymentApproval } from '@l402kit/core';

const books = new WeakMap<object, L402ToolApprovals>();

/** Remembers the approvals of a tool list, under the list and under each of its tools. */
export function rememberApprovals<T extends object>(tools: T[], approvals: L402ToolApprovals): T[] {
  books.set(tools, approvals);
  for (const each of tools) books.set(each, approvals);
  return tools;
}

function bookOf(tools: object): L402ToolApprovals {
  const approvals = books.get(tools);
  if (!approvals) throw new TypeError('these are not tools made by createL402OpenAIAgentsTools');
  return approvals;
}

/**
 * What the person is asked to approve for an interrupted call (`interruption.rawItem.callId`):
 * amount in sats, host, payee, description and a one-line `message`; undefined when the call
 * waits for nothing. `tools` is the list from `createL402OpenAIAgentsTools` or one of its tools.
 */
export function l402ApprovalRequest(
  tools: object,
  callId: string,
): ToolPaymentApproval | undefined {
  return bookOf(tools).pending(callId);
}

/**
 * The person declined this call: forgets its quote and returns the message for
 * `state.reject(interruption, { message })`, which tells the model a person declined.
 */
export function l402DeclineMessage(tools: object, callId: string): string {
  return bookOf(tools).decline(callId);
}
