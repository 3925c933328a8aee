import {
  type Budget,
  createL402ToolApprovals,
  createL402Tools,
  isToolErrorText,
  type L402ToolsOptions,
  type PaidFetch,
} from '@l402kit/core';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { askPerson } from './elicit-approval.js';

export interface L402McpServerOptions extends Omit<L402ToolsOptions, 'paidFetch'> {
  paidFetch: PaidFetch;
  /**
   * The budget of this session (one MCP session is one agent run). Default: a new child of
   * `paidFetch.budget` limited to `budgetPerSessionSats`.
   */
  sessionBudget?: Budget;
  /** The limit of each session's own budget, under the paid fetch's shared budget. */
  budgetPerSessionSats?: number;
  /** Shown in the session budget's name, e.g. the MCP session id. */
  sessionName?: string;
  /** Server name and version announced to clients. */
  name?: string;
  version?: string;
}

export const MCP_SERVER_NAME = 'l402kit';
export const MCP_SERVER_VERSION = '0.1.0';

/**
 * An MCP server offering the l402kit tools for ONE session: its tools charge one run budget
 * of their own, so sessions never share or leak each other's budgets. Connect it to exactly
 * one transport; make one server per session.
 */
export function createL402McpServer(options: L402McpServerOptions): McpServer {
  const { paidFetch } = options;
  const budget =
    options.sessionBudget ??
    paidFetch.budget.child({
      name: options.sessionName ?? 'mcp session',
      ...(options.budgetPerSessionSats === undefined
        ? {}
        : { maxSats: options.budgetPerSessionSats }),
    });
  const server = new McpServer({
    name: options.name ?? MCP_SERVER_NAME,
    version: options.version ?? MCP_SERVER_VERSION,
  });
  const specs = createL402Tools(options);
  const approvals = createL402ToolApprovals(specs);
  for (const spec of specs) {
    server.registerTool(
      spec.name,
      { description: spec.description, inputSchema: spec.inputSchema },
      async (input, extra) => {
        const context = { budget, signal: extra.signal };
        // Above approveAboveSats the person is asked through the client (elicitation).
        const asked = await askPerson(server, approvals, spec.name, input, context);
        if (asked.refusal !== undefined) {
          return { content: [{ type: 'text', text: asked.refusal }], isError: true };
        }
        // execute never throws: a failure is a text that says whether money moved.
        const text = await spec.execute(input, { ...context, approval: asked.approval });
        return {
          content: [{ type: 'text', text }],
          ...(isToolErrorText(spec.name, text) ? { isError: true } : {}),
        };
      },
    );
  }
  return server;
}
