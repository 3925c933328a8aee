import { z } from 'zod';
import { formatMsat, type Msat, satsToMsat } from '../amount.js';
import { DEFAULT_FEE_LIMIT, maxFeeFor } from '../budget/fee-limit.js';
import { type Budget, describeBudget } from '../budget/budget.js';
import { decodeInvoice } from '../protocol/invoice.js';
import type { PaidFetch } from '../client/paid-fetch.js';
import type { Policy } from '../client/policy.js';
import { payInvoice } from '../client/pay-invoice.js';
import { budgetsToCharge, currentRunBudget } from '../budget/run-budget.js';
import type { Approval } from '../client/approval.js';
import { INVOICE_METHOD, invoiceApprovalUrl } from '../client/pay-invoice.js';
import { InvalidOptionError } from '../errors.js';
import {
  createOfferMarket,
  type OfferMarket,
  type OfferMarketOptions,
} from '../client/offer-market.js';
import { formatFetchResult, quoteSellerText } from './fetch-result.js';
import { createOfferTools } from './offer-tools.js';
import { readBodyStart } from './read-body.js';
import { describeAmount, formatToolError } from './tool-error.js';
import { type PaymentToApprove, paymentToApprove } from './tool-approval.js';

/** What a framework hands a tool call: the run's budget, the call's abort signal and approval. */
export interface ToolContext {
  /** The budget of this agent run; charged on top of the paid fetch's own budget. */
  budget?: Budget;
  signal?: AbortSignal;
  /**
   * A person's approval of this call's payment, from the framework's human-in-the-loop flow
   * (`L402ToolApprovals.approve`); never from the tool's arguments.
   */
  approval?: Approval;
}

/**
 * A framework-neutral tool: adapters turn it into a LangChain, AI SDK or MCP tool. `execute`
 * never throws: failures come back as text that says whether anything was paid.
 */
export interface L402ToolSpec<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  description: string;
  inputSchema: z.ZodObject<Shape>;
  execute(input: z.infer<z.ZodObject<Shape>>, context?: ToolContext): Promise<string>;
  /**
   * For a tool that can pay: the payment this call would make that needs a person's approval,
   * found without paying (a quote, or the invoice decoded); undefined when none would.
   */
  quotePayment?(
    input: z.infer<z.ZodObject<Shape>>,
    context?: ToolContext,
  ): Promise<PaymentToApprove | undefined>;
}

export interface L402ToolsOptions {
  paidFetch: PaidFetch;
  /** Response bodies are shown up to this many characters, with a note. Default 20,000. */
  maxResponseChars?: number;
  /**
   * At most this many bytes of a response body are read (streamed; the rest is not downloaded
   * and the result says it was truncated). Default 256 KiB. The time limits are the paid
   * fetch's `headersTimeoutMs` and `bodyTimeoutMs`.
   */
  maxResponseBytes?: number;
  /** Offer `pay_invoice` (off by default: it pays arbitrary invoices, within the budget). */
  enablePayInvoice?: boolean;
  /** Offer `create_invoice` (off by default). */
  enableCreateInvoice?: boolean;
  /**
   * Offer `compare_offers` and `buy_offer` over these sellers (catalogue URLs or origins, with
   * an optional cap per seller), or over an offer market made with `createOfferMarket`.
   */
  offers?: OfferMarket | Omit<OfferMarketOptions, 'paidFetch'>;
}

export type L402ToolName =
  | 'l402_fetch'
  | 'l402_quote'
  | 'budget_status'
  | 'wallet_balance'
  | 'decode_invoice'
  | 'pay_invoice'
  | 'create_invoice'
  | 'compare_offers'
  | 'buy_offer';

const fetchInput = z.object({
  url: z.string().describe('Absolute http(s) URL to fetch.'),
  method: z
    .enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
    .optional()
    .describe('HTTP method; default GET.'),
  headers: z.record(z.string(), z.string()).optional().describe('Extra request headers.'),
  body: z.string().optional().describe('Request body, e.g. JSON text.'),
  maxSats: z
    .number()
    .positive()
    .optional()
    .describe(
      'Refuse to pay more than this many sats for this call (can only lower the configured cap).',
    ),
});

const quoteInput = z.object({
  url: z.string().describe('Absolute http(s) URL to price.'),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
});

const noInput = z.object({});
const invoiceInput = z.object({
  invoice: z.string().describe('A BOLT11 Lightning invoice (lnbc...).'),
});
const payInput = invoiceInput.extend({
  maxSats: z.number().positive().optional().describe('Refuse to pay more than this many sats.'),
});
const createInput = z.object({
  amountSats: z.number().positive().describe('Amount in sats.'),
  description: z.string().optional(),
});

const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionError(`${name} must be a positive whole number.`);
  }
  return value;
}

// A spec typed for its own input, stored beside the others (parameters are contravariant).
function defineTool<Shape extends z.ZodRawShape>(spec: L402ToolSpec<Shape>): L402ToolSpec {
  return spec as unknown as L402ToolSpec;
}

/** The l402kit tools, ready for any agent framework through an adapter. */
export function createL402Tools(options: L402ToolsOptions): L402ToolSpec[] {
  const { paidFetch } = options;
  const maxChars = positiveInteger('maxResponseChars', options.maxResponseChars ?? 20_000);
  const maxBytes = positiveInteger(
    'maxResponseBytes',
    options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
  );
  const runBudget = (context?: ToolContext) => context?.budget ?? currentRunBudget();
  const guarded =
    <Shape extends z.ZodRawShape>(
      name: string,
      run: (input: z.infer<z.ZodObject<Shape>>, context?: ToolContext) => Promise<string>,
    ) =>
    async (input: z.infer<z.ZodObject<Shape>>, context?: ToolContext) => {
      try {
        return await run(input, context);
      } catch (error) {
        return formatToolError(name, error);
      }
    };
  const remaining = (context?: ToolContext) =>
    describeBudget(runBudget(context) ?? paidFetch.budget);

  const tools: L402ToolSpec[] = [
    defineTool({
      name: 'l402_fetch',
      description:
        'Fetch a URL over HTTP. If the server asks for payment (HTTP 402 with an L402 Lightning invoice), pay it automatically within the budget and return the content. Reports what was paid and the budget left. Use l402_quote first to compare prices.',
      inputSchema: fetchInput,
      execute: guarded<typeof fetchInput.shape>('l402_fetch', async (input, context) => {
        const response = await paidFetch(input.url, {
          method: input.method ?? 'GET',
          headers: input.headers,
          body: input.body,
          maxSats: input.maxSats,
          budget: runBudget(context),
          signal: context?.signal,
          approval: context?.approval,
        });
        const { bytes, truncated } = await readBodyStart(response, maxBytes);
        return formatFetchResult({
          response,
          bytes,
          truncated,
          maxChars,
          budgetLine: await remaining(context),
        });
      }),
      quotePayment: async (input, context) => {
        const { policy } = paidFetch;
        if (!asksPeople(policy)) return undefined;
        const method = input.method ?? 'GET';
        const url = new URL(input.url);
        if (await paidFetch.tokenStore.find(url, method)) return undefined;
        const quote = await paidFetch.quote(url, {
          method,
          headers: input.headers,
          body: input.body,
          signal: context?.signal,
        });
        const { priceMsat, maxFeeMsat, payee, invoiceExpiresAt } = quote;
        if (
          priceMsat === undefined ||
          maxFeeMsat === undefined ||
          payee === undefined ||
          invoiceExpiresAt === undefined ||
          !policy.needsApproval(priceMsat) ||
          (input.maxSats !== undefined && priceMsat > satsToMsat(input.maxSats)) ||
          // A price the caps refuse is refused without asking anyone.
          !fitsCap(() => policy.checkPrice({ host: quote.host, amountMsat: priceMsat }))
        ) {
          return undefined;
        }
        return paymentToApprove(
          'l402_fetch',
          {
            url: quote.url,
            host: quote.host,
            method,
            payee,
            ...(quote.description === undefined ? {} : { description: quote.description }),
          },
          {
            url: url.href,
            method,
            amountMsat: priceMsat,
            maxFeeMsat,
            payee,
            expiresAt: invoiceExpiresAt,
          },
        );
      },
    }),
    defineTool({
      name: 'l402_quote',
      description:
        'Get the price of a URL without paying: returns the price in sats and the description from its L402 invoice, or says it is free. Use it to compare sources before buying.',
      inputSchema: quoteInput,
      execute: guarded<typeof quoteInput.shape>('l402_quote', async (input, context) => {
        const quote = await paidFetch.quote(input.url, {
          method: input.method ?? 'GET',
          signal: context?.signal,
        });
        if (quote.priceMsat === undefined) {
          return `${quote.url} needs no payment (HTTP ${quote.status}).`;
        }
        return [
          quotedCost(quote.url, quote.priceMsat, quote.maxFeeMsat),
          quote.description
            ? `Description (written by the seller): ${quoteSellerText(quote.description)}`
            : undefined,
          await remaining(context),
        ]
          .filter(Boolean)
          .join('\n');
      }),
    }),
    defineTool({
      name: 'budget_status',
      description:
        "Show how much of the spending budget is left, spent and in flight, and the wallet's own limit when it has one.",
      inputSchema: noInput,
      execute: guarded('budget_status', async (_input, context) => {
        // The wallet's limit (an NWC connection's budget) applies on top of l402kit's.
        const wallet = await paidFetch.wallet.getBudget?.().catch(() => undefined);
        if (!wallet) return remaining(context);
        const renews = wallet.renewsAt ? `, renews ${wallet.renewsAt.toISOString()}` : '';
        return `${await remaining(context)}\nWallet-side limit: ${formatMsat(wallet.usedMsat)} used of ${formatMsat(wallet.totalMsat)}${renews}.`;
      }),
    }),
    defineTool({
      name: 'wallet_balance',
      description:
        'Show the Lightning wallet balance (the budget, not the balance, limits what may be spent).',
      inputSchema: noInput,
      execute: guarded('wallet_balance', async () => {
        if (!paidFetch.wallet.getBalance) return 'This wallet does not report its balance.';
        const { balanceMsat } = await paidFetch.wallet.getBalance();
        return `Wallet balance: ${formatMsat(balanceMsat)}.`;
      }),
    }),
    defineTool({
      name: 'decode_invoice',
      description:
        'Decode a BOLT11 Lightning invoice: amount, description, expiry, network. Pays nothing.',
      inputSchema: invoiceInput,
      execute: guarded<typeof invoiceInput.shape>('decode_invoice', async ({ invoice }) => {
        const decoded = decodeInvoice(invoice);
        return [
          `Amount: ${decoded.amountMsat === undefined ? 'none (open amount; l402kit will not pay it)' : formatMsat(decoded.amountMsat)}`,
          decoded.description === undefined
            ? 'Description: (none)'
            : `Description (written by whoever made the invoice): ${quoteSellerText(decoded.description)}`,
          `Network: ${decoded.network}`,
          `Expires: ${decoded.expiresAt.toISOString()}`,
          `Payment hash: ${decoded.paymentHash}`,
        ].join('\n');
      }),
    }),
  ];
  if (options.enablePayInvoice) {
    tools.push(
      defineTool({
        name: 'pay_invoice',
        description: 'Pay a BOLT11 Lightning invoice within the budget and spending policy.',
        inputSchema: payInput,
        execute: guarded<typeof payInput.shape>('pay_invoice', async (input, context) => {
          const paid = await payInvoice(input.invoice, {
            wallet: paidFetch.wallet,
            policy: paidFetch.policy,
            budgets: budgetsToCharge(paidFetch.budget, currentRunBudget(), context?.budget),
            maxSats: input.maxSats,
            signal: context?.signal,
            approval: context?.approval,
          });
          return `Paid ${describeAmount(paid.amountMsat, paid.feeMsat)}. Payment hash: ${paid.paymentHash}.\n${await remaining(context)}`;
        }),
        quotePayment: async (input) => {
          const { policy } = paidFetch;
          if (!asksPeople(policy)) return undefined;
          const invoice = decodeInvoice(input.invoice);
          const amountMsat = invoice.amountMsat;
          const host = `lightning:${invoice.payee}`;
          if (
            amountMsat === undefined ||
            !policy.needsApproval(amountMsat) ||
            (input.maxSats !== undefined && amountMsat > satsToMsat(input.maxSats)) ||
            !fitsCap(() => policy.checkPrice({ host, amountMsat }))
          ) {
            return undefined;
          }
          return paymentToApprove(
            'pay_invoice',
            {
              url: host,
              host,
              payee: invoice.payee,
              ...(invoice.description === undefined ? {} : { description: invoice.description }),
            },
            {
              url: invoiceApprovalUrl(invoice.paymentHash),
              method: INVOICE_METHOD,
              amountMsat,
              // What payInvoice reserves: the default fee limit.
              maxFeeMsat: maxFeeFor(amountMsat, DEFAULT_FEE_LIMIT),
              payee: invoice.payee,
              expiresAt: invoice.expiresAt,
            },
          );
        },
      }),
    );
  }
  if (options.offers !== undefined) {
    const { offers } = options;
    const market =
      'compare' in offers && typeof offers.compare === 'function'
        ? offers
        : createOfferMarket({ paidFetch, ...(offers as Omit<OfferMarketOptions, 'paidFetch'>) });
    tools.push(
      ...createOfferTools({
        market,
        runBudget,
        remaining,
        guarded,
        fetchResult: async (response, context) => {
          const { bytes, truncated } = await readBodyStart(response, maxBytes);
          return formatFetchResult({
            response,
            bytes,
            truncated,
            maxChars,
            budgetLine: await remaining(context),
          });
        },
        quoteFetch: tools[0]!.quotePayment,
      }),
    );
  }
  if (options.enableCreateInvoice) {
    tools.push(
      defineTool({
        name: 'create_invoice',
        description: 'Create a BOLT11 Lightning invoice to receive a payment.',
        inputSchema: createInput,
        execute: guarded<typeof createInput.shape>('create_invoice', async (input) => {
          if (!paidFetch.wallet.createInvoice) return 'This wallet cannot create invoices.';
          const created = await paidFetch.wallet.createInvoice({
            amountMsat: satsToMsat(input.amountSats),
            description: input.description,
          });
          return `Invoice: ${created.invoice}\nPayment hash: ${created.paymentHash}`;
        }),
      }),
    );
  }
  return tools;
}

function fitsCap(check: () => void): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a person may have to approve some payment through the framework: a threshold is
 * set and the operator's own callback (which decides at payment time) is not. Otherwise no
 * quote is made before paying.
 */
function asksPeople(policy: Policy): boolean {
  return !policy.hasApprovalCallback && policy.needsApproval(MAX_MSAT);
}
const MAX_MSAT = 21_000_000n * 100_000_000n * 1_000n;

/** The price and the most the routing fee may add, which paying reserves from the budget. */
function quotedCost(url: string, priceMsat: Msat, maxFeeMsat: Msat | undefined): string {
  if (!maxFeeMsat) return `${url} costs ${formatMsat(priceMsat)}, with no routing fee.`;
  return `${url} costs ${formatMsat(priceMsat)}, plus a routing fee of at most ${formatMsat(maxFeeMsat)}: paying reserves ${formatMsat(priceMsat + maxFeeMsat)} of the budget.`;
}
