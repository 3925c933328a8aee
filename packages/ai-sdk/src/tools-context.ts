import type { Budget, L402ToolName } from '@l402kit/core';

// A record, not a list, so that the compiler asks for every tool name core defines.
const toolNames: Record<L402ToolName, true> = {
  l402_fetch: true,
  l402_quote: true,
  budget_status: true,
  wallet_balance: true,
  decode_invoice: true,
  pay_invoice: true,
  create_invoice: true,
  compare_offers: true,
  buy_offer: true,
};

/**
 * The `toolsContext` that gives every l402kit tool this run's budget:
 * `generateText({ tools, toolsContext: l402ToolsContext(runBudget) })`. The AI SDK hands each
 * tool its own entry, so the budget is repeated under every tool name.
 */
export function l402ToolsContext(budget: Budget): Record<L402ToolName, { l402Budget: Budget }> {
  const context = {} as Record<L402ToolName, { l402Budget: Budget }>;
  for (const name of Object.keys(toolNames) as L402ToolName[])
    context[name] = { l402Budget: budget };
  return context;
}
