import { z } from 'zod';
import { formatMsat, msatToSats } from '../amount.js';
import type { ComparedOffer, OfferComparison } from '../client/compare-offers.js';
import type { OfferMarket } from '../client/offer-market.js';
import { quoteSellerText } from './fetch-result.js';
import type { L402ToolSpec, ToolContext } from './tool-specs.js';

const compareInput = z.object({
  need: z
    .string()
    .min(1)
    .max(1_000)
    .describe('What you need, in words (e.g. the question a report should answer).'),
  kind: z.string().max(64).optional().describe('Only offers of this kind, e.g. research-report.'),
  minQuality: z
    .number()
    .min(1)
    .max(5)
    .optional()
    .describe('Only offers whose seller states at least this quality (1-5).'),
  maxSats: z.number().positive().optional().describe('Only offers priced at most this many sats.'),
});

const buyInput = z.object({
  offerId: z.string().max(64).describe('The id compare_offers gave the offer, e.g. "offer-3".'),
});

/** What the offer tools share with the other l402kit tools. */
export interface OfferToolHelpers {
  market: OfferMarket;
  runBudget(context?: ToolContext): ToolContext['budget'];
  /** The budget left, in a sentence. */
  remaining(context?: ToolContext): Promise<string>;
  guarded<Shape extends z.ZodRawShape>(
    name: string,
    run: (input: z.infer<z.ZodObject<Shape>>, context?: ToolContext) => Promise<string>,
  ): (input: z.infer<z.ZodObject<Shape>>, context?: ToolContext) => Promise<string>;
  /** Fetches a URL as `l402_fetch` does and describes the result. */
  fetchResult(
    response: Awaited<ReturnType<OfferMarket['buy']>>,
    context?: ToolContext,
  ): Promise<string>;
  /** l402_fetch's approval quote, for a purchase a person may have to approve. */
  quoteFetch?: L402ToolSpec['quotePayment'];
}

const MAX_REMEMBERED_OFFERS = 200;

/**
 * `compare_offers` (free: reads the sellers' catalogues and quotes their offers) and
 * `buy_offer` (pays for one compared offer, never more than its quoted price). The sellers are
 * the operator's (`offers.sellers`); the model picks among them and can raise no cap.
 */
export function createOfferTools(helpers: OfferToolHelpers): L402ToolSpec[] {
  const { market, guarded } = helpers;
  // Offers by the id the model saw; the oldest are forgotten first.
  const remembered = new Map<string, ComparedOffer>();
  let nextId = 1;
  const remember = (offer: ComparedOffer) => {
    const id = `offer-${nextId++}`;
    remembered.set(id, offer);
    if (remembered.size > MAX_REMEMBERED_OFFERS) {
      remembered.delete(remembered.keys().next().value as string);
    }
    return id;
  };

  const compare: L402ToolSpec<typeof compareInput.shape> = {
    name: 'compare_offers',
    description:
      "Compare what the configured sellers offer for a need, without paying: reads each seller's catalogue and the exact price its invoice asks, and ranks the offers that fit the budget and caps, cheapest first. Then buy one with buy_offer.",
    inputSchema: compareInput,
    execute: guarded<typeof compareInput.shape>('compare_offers', async (input, context) => {
      const comparison = await market.compare(
        {
          query: input.need,
          ...(input.kind === undefined ? {} : { kind: input.kind }),
          ...(input.minQuality === undefined ? {} : { minQuality: input.minQuality }),
          ...(input.maxSats === undefined ? {} : { maxSats: input.maxSats }),
        },
        {
          ...(helpers.runBudget(context) === undefined
            ? {}
            : { budget: helpers.runBudget(context) }),
          ...(context?.signal === undefined ? {} : { signal: context.signal }),
        },
      );
      return describeComparison(comparison, remember, await helpers.remaining(context));
    }),
  };

  const buy: L402ToolSpec<typeof buyInput.shape> = {
    name: 'buy_offer',
    description:
      'Buy an offer that compare_offers listed, by its id. Pays at most the price compare_offers showed (a seller that asks more now gets nothing), within the budget and the cap per seller, and returns what was bought.',
    inputSchema: buyInput,
    execute: guarded<typeof buyInput.shape>('buy_offer', async (input, context) => {
      const offer = remembered.get(input.offerId);
      if (offer === undefined) {
        return `buy_offer: no offer "${input.offerId.slice(0, 64)}" was listed; run compare_offers first. Nothing was paid.`;
      }
      const response = await market.buy(offer, {
        ...(helpers.runBudget(context) === undefined ? {} : { budget: helpers.runBudget(context) }),
        ...(context?.signal === undefined ? {} : { signal: context.signal }),
        ...(context?.approval === undefined ? {} : { approval: context.approval }),
      });
      return helpers.fetchResult(response, context);
    }),
    quotePayment: async (input, context) => {
      const offer = remembered.get(input.offerId);
      if (offer === undefined || helpers.quoteFetch === undefined) return undefined;
      return helpers.quoteFetch(
        { url: offer.url, method: 'GET', maxSats: msatToSats(offer.priceMsat, 'exact') },
        context,
      );
    },
  };
  return [compare, buy] as unknown as L402ToolSpec[];
}

/** The ranking for a model: l402kit's facts, with every seller-written text quoted. */
function describeComparison(
  comparison: OfferComparison,
  remember: (offer: ComparedOffer) => string,
  budgetLine: string,
): string {
  const lines = ['Nothing was paid to compare.'];
  const eligible = comparison.offers.filter((offer) => offer.excluded === undefined);
  const excluded = comparison.offers.filter((offer) => offer.excluded !== undefined);
  if (eligible.length === 0) lines.push('No offer fits the need, the budget and the caps.');
  else lines.push('Offers that fit, cheapest first (seller and title are the sellers’ own words):');
  for (const offer of eligible) lines.push(describeOffer(offer, remember(offer)));
  if (excluded.length > 0) {
    lines.push('Left out:');
    for (const offer of excluded) {
      lines.push(
        `${describeOffer(offer, undefined)} (left out: ${exclusionText[offer.excluded!]})`,
      );
    }
  }
  for (const failure of comparison.failures) {
    lines.push(`Could not compare ${failure.url}: ${failure.reason}.`);
  }
  if (comparison.best !== undefined) {
    lines.push(`Cheapest that fits: ${formatMsat(comparison.best.priceMsat)}.`);
  }
  lines.push(budgetLine);
  return lines.join('\n');
}

function describeOffer(offer: ComparedOffer, id: string | undefined): string {
  const quality =
    offer.quality === undefined ? 'no stated quality' : `quality ${offer.quality}/5 (stated)`;
  const stated = offer.priceDiffersFromStated
    ? '; the invoice differs from its catalogue price'
    : '';
  return [
    id === undefined ? '-' : `- ${id}:`,
    `${formatMsat(offer.priceMsat)} (+ up to ${formatMsat(offer.maxFeeMsat)} fee)`,
    `from ${quoteSellerText(offer.seller)} at ${offer.origin},`,
    `${quoteSellerText(offer.title)}, ${quality}${stated}`,
  ].join(' ');
}

const exclusionText = {
  below_min_quality: 'below the quality asked for',
  above_cap: 'above the price cap',
  over_budget: 'more than the budget or the cap for this seller leaves',
} as const;
