import { randomUUID } from 'node:crypto';
import {
  type Approval,
  ApprovalRequiredError,
  formatToolError,
  type L402ToolApprovals,
  type ToolContext,
  type ToolPaymentApproval,
} from '@l402kit/core';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

/** The person's yes for this call, or the text that refuses it; neither when nothing needs asking. */
export type AskOutcome = { approval?: Approval; refusal?: undefined } | { refusal: string };

/**
 * Asks the person behind the MCP client (elicitation) before a tool call pays more than the
 * approval threshold: the price is quoted first, without paying. Only `accept` approves; a
 * decline, a cancel, a failed request and a client that cannot elicit all refuse, and nothing
 * is paid.
 */
export async function askPerson(
  server: McpServer,
  approvals: L402ToolApprovals,
  toolName: string,
  input: Record<string, unknown>,
  context: ToolContext,
): Promise<AskOutcome> {
  // A fresh id per call: the question lives only as long as this one tool call.
  const callId = randomUUID();
  const request = await approvals.check(toolName, input, callId, context);
  if (request === undefined) return {};
  const elicitation = server.server.getClientCapabilities()?.elicitation;
  if (elicitation === undefined) {
    approvals.decline(callId, toolName);
    // Fail closed, and say so: retrying cannot help with this client.
    return {
      refusal: `${toolName} failed (APPROVAL_REQUIRED): paying ${request.amountSats} sats to ${request.host} needs a person's approval, and this MCP client cannot ask one (it does not support elicitation). Nothing was paid. Do not retry; use a cheaper source or a client that supports elicitation.`,
    };
  }
  let action: string;
  try {
    const result = await server.server.elicitInput(
      {
        message: describe(request),
        requestedSchema: { type: 'object', properties: {} },
      },
      { ...(context.signal ? { signal: context.signal } : {}) },
    );
    action = result.action;
  } catch {
    action = 'failed';
  }
  if (action !== 'accept') {
    const text = approvals.decline(callId, toolName);
    if (action === 'decline') return { refusal: text };
    return {
      refusal: formatToolError(
        toolName,
        new ApprovalRequiredError(
          action === 'cancel'
            ? `The person dismissed the request to approve paying ${request.amountSats} sats to ${request.host} without deciding.`
            : `The request to approve paying ${request.amountSats} sats to ${request.host} could not be shown to a person.`,
          { paid: false, url: request.url },
        ),
      ),
    };
  }
  const approval = approvals.approve(callId, toolName, input);
  return approval === undefined ? {} : { approval };
}

// What the client shows the person: amount, host, what is bought, who is paid, until when.
function describe(request: ToolPaymentApproval): string {
  return [
    request.message,
    `${request.method ? `${request.method} ` : ''}${request.url}`,
    `Payee node: ${request.payee}`,
    `The price holds until ${request.expiresAt}.`,
  ].join('\n');
}
