import type { Approval, L402ToolApprovals, ToolContext, ToolPaymentApproval } from '@l402kit/core';

/** What the graph is interrupted with: the question for the person, marked as l402kit's. */
export type L402ApprovalInterrupt = ToolPaymentApproval & { type: 'l402_payment_approval' };

/** The answer to resume with: `new Command({ resume: { id: interrupt.id, approved } })`. */
export interface L402ApprovalDecision {
  /** The `id` of the interrupt being answered; an answer to another question is not this one's. */
  id: string;
  approved: boolean;
}

/** A graph may be resumed with answers to questions this process never asked; ask anew after this many. */
const MAX_ANSWERS_READ = 10;

/**
 * Asks the person through LangGraph's `interrupt()` before a tool call pays above the
 * approval threshold. The run pauses (with a checkpointer) until it is resumed with
 * `Command({ resume: { id, approved } })`; the tool then runs again from the start and this
 * returns the person's approval (bound to the quote they saw) or the declined text. An answer
 * whose id is not the question's (the quote was lost with another process, or changed) is
 * not taken: the person is asked again. Outside a graph, a payment that needs approval is
 * refused.
 */
export async function askPerson(
  approvals: L402ToolApprovals,
  toolName: string,
  input: Record<string, unknown>,
  callId: string,
  context: ToolContext,
): Promise<{ approval?: Approval; refusal?: string }> {
  const request = await approvals.check(toolName, input, callId, context);
  if (request === undefined) return {};
  const { interrupt, isGraphInterrupt } = await import('@langchain/langgraph');
  const question: L402ApprovalInterrupt = { type: 'l402_payment_approval', ...request };
  for (let read = 0; read < MAX_ANSWERS_READ; read++) {
    let answer: unknown;
    try {
      // Throws the first time (the graph pauses); returns the resume value once resumed.
      answer = interrupt(question);
    } catch (error) {
      if (isGraphInterrupt(error)) throw error;
      approvals.decline(callId, toolName);
      return {
        refusal: `${toolName} failed (APPROVAL_REQUIRED): paying ${request.amountSats} sats to ${request.host} needs a person's approval, which is asked by interrupting a LangGraph agent; this tool is not running in one with a checkpointer. Nothing was paid.`,
      };
    }
    if (!isDecision(answer) || answer.id !== request.id) continue;
    if (answer.approved !== true) return { refusal: approvals.decline(callId, toolName) };
    const approval = approvals.approve(callId, toolName, input);
    return approval === undefined ? {} : { approval };
  }
  return {
    refusal: `${toolName} failed (APPROVAL_REQUIRED): no answer to the approval of paying ${request.amountSats} sats to ${request.host} matched the question. Nothing was paid.`,
  };
}

function isDecision(value: unknown): value is L402ApprovalDecision {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { id?: unknown }).id === 'string' &&
    typeof (value as { approved?: unknown }).approved === 'boolean'
  );
}
