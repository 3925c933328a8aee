import {
  createBudget,
  createPaidFetch,
  type Msat,
  type PaidFetch,
  type PaidFetchEvent,
  type Wallet,
} from '@l402kit/core';
import { articles, datasets } from '@l402kit/research-api';
import type { ReceiptLine } from './receipt.js';

// The research task, the same for every framework's agent.

export const DEFAULT_QUESTION =
  'How do AI agents pay for APIs with L402, and how are their spending limits enforced?';

/** What the model is told: where the API is, what it sells, and the budget rule. */
export function researchSystemPrompt(apiUrl: string, budgetSats: number): string {
  return [
    'You are a research agent that buys its sources with Lightning payments (L402) under a strict budget.',
    `Research API: ${apiUrl}`,
    `- GET ${apiUrl}/v1/search?q=<words> costs 2 sats and lists articles and datasets with title, provider, quality (1-5), price in sats and url.`,
    '- Every article or dataset url costs its listed price. Check exact prices with l402_quote (free) and what is left with budget_status.',
    `Your budget for this run is ${budgetSats} sats, routing fees included; payments above it are refused.`,
    'Buy only the sources you need, prefer the best value, and do not try to buy what costs more than what is left.',
    'Then answer the question in a short report that cites the sources you bought as [1], [2] with title and provider.',
  ].join('\n');
}

/** A readable name for what a URL on the research API sells, for receipts. */
export function describePurchase(url: string): string {
  const path = new URL(url).pathname;
  if (path === '/v1/search') return 'Search pass';
  const id = path.split('/').at(-1);
  const document =
    articles.find((article) => article.id === id) ?? datasets.find((each) => each.id === id);
  return document === undefined ? path : `"${document.title}"`;
}

/** The wallet's balance, when it reports one. */
export async function balanceOf(wallet: Wallet): Promise<Msat | undefined> {
  try {
    return (await wallet.getBalance?.())?.balanceMsat;
  } catch {
    return undefined;
  }
}

/**
 * The paid fetch every example agent uses: the operator's cap per request (the run budget is
 * the run's total), only the research API's host, a receipt line for each payment and, with
 * `approveAboveSats`, a person's approval for each purchase above it.
 */
export function createResearchFetch(
  setup: { wallet: Wallet; apiUrl: string; local: boolean },
  onPayment: (line: ReceiptLine) => void,
  options: { approveAboveSats?: number } = {},
): { paidFetch: PaidFetch; lines: ReceiptLine[] } {
  const lines: ReceiptLine[] = [];
  const paidFetch = createPaidFetch({
    wallet: setup.wallet,
    budget: createBudget({ name: 'agent', maxSatsPerRequest: 1_000 }),
    policy: {
      allowedHosts: [new URL(setup.apiUrl).hostname],
      allowPrivateNetwork: setup.local,
      requireHttps: !setup.local,
      // Above this a person decides (the agent pauses and asks), bound to the quoted price.
      ...(options.approveAboveSats === undefined
        ? {}
        : { approveAboveSats: options.approveAboveSats }),
    },
    onEvent: (event: PaidFetchEvent) => {
      if (event.type !== 'payment') return;
      const line: ReceiptLine = {
        item: describePurchase(event.url),
        url: event.url,
        amountMsat: event.amountMsat,
        feeMsat: event.feeMsat,
        paymentHash: event.paymentHash,
      };
      lines.push(line);
      onPayment(line);
    },
  });
  return { paidFetch, lines };
}
