import { msatToSats } from '../amount.js';
import type { Budget } from '../budget/budget.js';
import { currentRunBudget } from '../budget/run-budget.js';
import { InvalidOptionError } from '../errors.js';
import type { Approval } from './approval.js';
import {
  type ComparedOffer,
  type CompareOffersOptions,
  compareOffers,
  type OfferComparison,
  type OfferNeed,
} from './compare-offers.js';
import type { PaidFetch, PaidResponse } from './paid-fetch.js';

export interface OfferMarketOptions {
  paidFetch: PaidFetch;
  /** The sellers to compare: catalogue URLs or origins. Chosen by the operator, not a model. */
  sellers: ReadonlyArray<string | URL>;
  /**
   * The most one seller may be paid in total, in sats, fees included: a budget level per seller
   * under the run's budget (or the paid fetch's), so it holds whatever the offers say.
   */
  maxSatsPerSeller?: number;
  maxCatalogueBytes?: number;
  maxOffersPerSeller?: number;
}

export interface OfferContext {
  /** The run's budget; default the one `withBudget` set. */
  budget?: Budget;
  signal?: AbortSignal;
}

export interface OfferMarket {
  /** Compares the sellers' offers for a need; pays nothing. */
  compare(need: OfferNeed, context?: OfferContext): Promise<OfferComparison>;
  /**
   * Buys a compared offer, paying at most the price its invoice asked when it was compared: a
   * seller whose price rose meanwhile gets nothing (`PriceAboveCapError`, nothing paid). The
   * payment is charged to the seller's cap as well as every other budget.
   */
  buy(
    offer: ComparedOffer,
    context?: OfferContext & { approval?: Approval },
  ): Promise<PaidResponse>;
  /** The budget that caps what one seller is paid under a run (undefined without a cap). */
  sellerBudget(origin: string, budget?: Budget): Budget | undefined;
  readonly sellers: readonly string[];
}

/** A buyer's view of several sellers: compare their offers, buy one within every cap. */
export function createOfferMarket(options: OfferMarketOptions): OfferMarket {
  const { paidFetch } = options;
  const sellers = options.sellers.map(String);
  const cap = options.maxSatsPerSeller;
  if (cap !== undefined && !(typeof cap === 'number' && Number.isFinite(cap) && cap >= 0)) {
    throw new InvalidOptionError('maxSatsPerSeller must be a number of sats.');
  }
  // One cap per seller under each run budget (or the paid fetch's), made on first use.
  const caps = new WeakMap<Budget, Map<string, Budget>>();
  const sellerBudget = (origin: string, budget?: Budget) => {
    if (cap === undefined) return undefined;
    const parent = budget ?? currentRunBudget() ?? paidFetch.budget;
    let byOrigin = caps.get(parent);
    if (byOrigin === undefined) {
      byOrigin = new Map();
      caps.set(parent, byOrigin);
    }
    let level = byOrigin.get(origin);
    if (level === undefined) {
      level = parent.child({ name: `seller ${origin}`, maxSats: cap });
      byOrigin.set(origin, level);
    }
    return level;
  };
  const comparing = (context: OfferContext): Omit<CompareOffersOptions, 'need'> => ({
    sellers,
    budgetFor: (origin) => sellerBudget(origin, context.budget),
    ...(context.budget === undefined ? {} : { budget: context.budget }),
    ...(context.signal === undefined ? {} : { signal: context.signal }),
    ...(options.maxCatalogueBytes === undefined
      ? {}
      : { maxCatalogueBytes: options.maxCatalogueBytes }),
    ...(options.maxOffersPerSeller === undefined
      ? {}
      : { maxOffersPerSeller: options.maxOffersPerSeller }),
  });
  return {
    sellers,
    sellerBudget,
    compare: (need, context = {}) => compareOffers(paidFetch, { ...comparing(context), need }),
    buy: (offer, context = {}) =>
      paidFetch(offer.url, {
        method: offer.method,
        redirect: 'error',
        // The compared price is the cap: a dearer invoice is refused before paying.
        maxSats: msatToSats(offer.priceMsat, 'exact'),
        budget: sellerBudget(offer.origin, context.budget) ?? context.budget,
        ...(context.signal === undefined ? {} : { signal: context.signal }),
        ...(context.approval === undefined ? {} : { approval: context.approval }),
      }),
  };
}
