import { type Msat, satsToMsat } from '../amount.js';
import type { Budget } from '../budget/budget.js';
import { budgetsToCharge, currentRunBudget } from '../budget/run-budget.js';
import { InvalidOptionError, L402Error } from '../errors.js';
import { redactUrl } from '../redact.js';
import { readBodyStart } from '../tools/read-body.js';
import {
  type CatalogueOffer,
  MAX_CATALOGUE_BYTES,
  OFFER_CATALOGUE_PATH,
  type OfferCatalogue,
  offerCatalogueSchema,
} from './offer-catalogue.js';
import type { PaidFetch } from './paid-fetch.js';

/** What the buyer needs, and what it will accept. */
export interface OfferNeed {
  /** The need in words; replaces `{query}` in each offer's URL. At most 1,000 characters. */
  query: string;
  /** Only offers of this kind (e.g. `research-report`); default any. */
  kind?: string;
  /** Only offers whose seller states at least this quality (1-5); default any. */
  minQuality?: number;
  /** Only offers whose invoice asks at most this many sats. */
  maxSats?: number;
}

export interface CompareOffersOptions {
  /** Where the sellers are: catalogue URLs, or origins (the catalogue path is added). */
  sellers: ReadonlyArray<string | URL>;
  need: OfferNeed;
  /**
   * Budgets a purchase would be charged to besides the paid fetch's own and the current run's
   * (e.g. a seller's own cap: `budgetFor(origin)`); an offer they cannot afford is excluded.
   */
  budgetFor?: (origin: string) => Budget | undefined;
  /** The run's budget; default the one `withBudget` set. */
  budget?: Budget;
  signal?: AbortSignal;
  /** Catalogues longer than this are refused; default 64 KiB. */
  maxCatalogueBytes?: number;
  /** Offers quoted per seller at most (the first that match); default 5. */
  maxOffersPerSeller?: number;
}

/** Why an offer that was quoted is not eligible. */
export type OfferExclusion = 'below_min_quality' | 'above_cap' | 'over_budget';

/** An offer as compared: what its catalogue says, and the price its invoice asks. */
export interface ComparedOffer {
  /** The seller's name, from its catalogue: untrusted text. */
  seller: string;
  origin: string;
  offerId: string;
  /** From the catalogue: untrusted text. */
  title: string;
  kind?: string;
  /** The quality the seller states (1-5); not proven. */
  quality?: number;
  /** The request to buy: the offer's URL with the need filled in, on the seller's origin. */
  url: string;
  method: 'GET';
  /** The price: the amount of the invoice its 402 carried (never the catalogue's). */
  priceMsat: Msat;
  /** The routing fee a purchase would reserve. */
  maxFeeMsat: Msat;
  /** The payee's node, from the invoice. */
  payee?: string;
  /** What the catalogue states, for comparison only. */
  statedPriceSats?: { min?: number; max?: number };
  /** The invoice asks a price outside the range the catalogue states. */
  priceDiffersFromStated: boolean;
  /** Why the offer is out; absent when it is eligible. */
  excluded?: OfferExclusion;
}

export interface OfferFailure {
  /** Catalogue URL or offer URL (no query). */
  url: string;
  offerId?: string;
  /** Said without any content from the seller. */
  reason: string;
  /** Error code when a call failed. */
  code?: string;
}

export interface OfferComparison {
  /** Eligible offers first, cheapest first (higher stated quality first at the same price), then the excluded ones. */
  offers: ComparedOffer[];
  /** The cheapest eligible offer. */
  best: ComparedOffer | undefined;
  /** Sellers and offers that could not be compared. Nothing was paid for any of them. */
  failures: OfferFailure[];
}

const MAX_SELLERS = 20;
const MAX_QUERY_CHARS = 1_000;

/**
 * Compares what several sellers offer for one need, without paying anything: reads each
 * seller's catalogue (free, bounded, validated; a catalogue that asks for payment is refused),
 * quotes every matching offer through the paid fetch's `quote` (the policy applies), and ranks
 * the offers by the price their invoices ask, never by what a catalogue says.
 */
export async function compareOffers(
  paidFetch: PaidFetch,
  options: CompareOffersOptions,
): Promise<OfferComparison> {
  const { need } = options;
  checkNeed(need, options.sellers);
  const maxBytes = options.maxCatalogueBytes ?? MAX_CATALOGUE_BYTES;
  const perSeller = options.maxOffersPerSeller ?? 5;
  const failures: OfferFailure[] = [];
  const compared = await Promise.all(
    options.sellers.map(async (seller) => {
      let catalogueUrl: URL;
      try {
        catalogueUrl = catalogueUrlOf(seller);
      } catch {
        failures.push({ url: String(seller).slice(0, 200), reason: 'not an http(s) URL' });
        return [];
      }
      const catalogue = await readCatalogue(paidFetch, catalogueUrl, maxBytes, options.signal);
      if (!catalogue.ok) {
        failures.push({ url: redactUrl(catalogueUrl), ...catalogue.failure });
        return [];
      }
      const matching = catalogue.value.offers
        .filter((offer) => need.kind === undefined || offer.kind === need.kind)
        .slice(0, perSeller);
      const offers = await Promise.all(
        matching.map((offer) =>
          quoteOffer(paidFetch, catalogue.value, catalogueUrl, offer, options, failures),
        ),
      );
      return offers.filter((offer): offer is ComparedOffer => offer !== undefined);
    }),
  );
  const offers = compared.flat();
  const ranked = [
    ...offers.filter((offer) => offer.excluded === undefined).sort(byPriceThenQuality),
    ...offers.filter((offer) => offer.excluded !== undefined).sort(byPriceThenQuality),
  ];
  const best = ranked[0]?.excluded === undefined ? ranked[0] : undefined;
  return { offers: ranked, best, failures };
}

function checkNeed(need: OfferNeed, sellers: ReadonlyArray<string | URL>): void {
  if (typeof need?.query !== 'string' || need.query.length > MAX_QUERY_CHARS) {
    throw new InvalidOptionError(
      `The need must be text of at most ${MAX_QUERY_CHARS} characters. Nothing was paid.`,
    );
  }
  if (!Array.isArray(sellers) || sellers.length === 0 || sellers.length > MAX_SELLERS) {
    throw new InvalidOptionError(`Compare between 1 and ${MAX_SELLERS} sellers. Nothing was paid.`);
  }
  if (
    need.minQuality !== undefined &&
    !(Number.isFinite(need.minQuality) && need.minQuality >= 1 && need.minQuality <= 5)
  ) {
    throw new InvalidOptionError('minQuality must be between 1 and 5. Nothing was paid.');
  }
  if (need.maxSats !== undefined) satsToMsat(need.maxSats);
}

/** An origin alone means its catalogue at the well-known path. */
function catalogueUrlOf(seller: string | URL): URL {
  const url = new URL(seller);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('not http(s)');
  if (url.pathname === '/' && url.search === '') url.pathname = OFFER_CATALOGUE_PATH;
  return url;
}

type Read<T> = { ok: true; value: T } | { ok: false; failure: Omit<OfferFailure, 'url'> };

/**
 * The catalogue, through the paid fetch (its policy, connection checks and deadlines) with a
 * cap of 0 sats: a catalogue that asks for payment is refused and nothing is paid.
 */
async function readCatalogue(
  paidFetch: PaidFetch,
  url: URL,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<Read<OfferCatalogue>> {
  let bytes: Uint8Array;
  try {
    const response = await paidFetch(url, {
      maxSats: 0,
      redirect: 'error',
      headers: { accept: 'application/json' },
      ...(signal === undefined ? {} : { signal }),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return { ok: false, failure: { reason: `the catalogue answered HTTP ${response.status}` } };
    }
    const read = await readBodyStart(response, maxBytes);
    if (read.truncated) {
      return { ok: false, failure: { reason: `the catalogue is larger than ${maxBytes} bytes` } };
    }
    bytes = read.bytes;
  } catch (error) {
    return { ok: false, failure: failureOf('the catalogue could not be read', error) };
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { ok: false, failure: { reason: 'the catalogue is not JSON' } };
  }
  const parsed = offerCatalogueSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // The path names a field; the seller's values are not repeated.
    const where = issue?.path.map(String).join('.') || 'catalogue';
    return { ok: false, failure: { reason: `the catalogue is not valid (at ${where})` } };
  }
  return { ok: true, value: parsed.data };
}

async function quoteOffer(
  paidFetch: PaidFetch,
  catalogue: OfferCatalogue,
  catalogueUrl: URL,
  offer: CatalogueOffer,
  options: CompareOffersOptions,
  failures: OfferFailure[],
): Promise<ComparedOffer | undefined> {
  const { need } = options;
  let url: URL;
  try {
    url = new URL(offer.url.replaceAll('{query}', encodeURIComponent(need.query)), catalogueUrl);
  } catch {
    failures.push({
      url: redactUrl(catalogueUrl),
      offerId: offer.id,
      reason: 'its URL is invalid',
    });
    return undefined;
  }
  // A catalogue speaks for its own origin only: it cannot send the buyer elsewhere.
  if (url.origin !== catalogueUrl.origin) {
    failures.push({
      url: redactUrl(catalogueUrl),
      offerId: offer.id,
      reason: "its URL is on another origin than the seller's catalogue",
    });
    return undefined;
  }
  let quote: Awaited<ReturnType<PaidFetch['quote']>>;
  try {
    quote = await paidFetch.quote(url, {
      method: 'GET',
      redirect: 'error',
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    failures.push({
      url: redactUrl(url),
      offerId: offer.id,
      ...failureOf('the quote failed', error),
    });
    return undefined;
  }
  if (quote.priceMsat === undefined || quote.maxFeeMsat === undefined) {
    failures.push({
      url: redactUrl(url),
      offerId: offer.id,
      reason: `it answered HTTP ${quote.status} without an L402 price`,
    });
    return undefined;
  }
  const stated = offer.price_sats;
  const priceDiffersFromStated =
    stated !== undefined &&
    ((stated.min !== undefined && quote.priceMsat < satsToMsat(stated.min)) ||
      (stated.max !== undefined && quote.priceMsat > satsToMsat(stated.max)));
  const compared: ComparedOffer = {
    seller: catalogue.seller.name,
    origin: url.origin,
    offerId: offer.id,
    title: offer.title,
    ...(offer.kind === undefined ? {} : { kind: offer.kind }),
    ...(offer.quality === undefined ? {} : { quality: offer.quality }),
    url: url.href,
    method: 'GET',
    priceMsat: quote.priceMsat,
    maxFeeMsat: quote.maxFeeMsat,
    ...(quote.payee === undefined ? {} : { payee: quote.payee }),
    ...(stated === undefined ? {} : { statedPriceSats: stated }),
    priceDiffersFromStated,
  };
  const excluded = await exclusionOf(paidFetch, compared, options);
  if (excluded !== undefined) compared.excluded = excluded;
  return compared;
}

/** Whether the buyer's rules and caps allow this offer, as its budgets stand now. */
async function exclusionOf(
  paidFetch: PaidFetch,
  offer: ComparedOffer,
  options: CompareOffersOptions,
): Promise<OfferExclusion | undefined> {
  const { need } = options;
  if (need.minQuality !== undefined && (offer.quality ?? 0) < need.minQuality) {
    return 'below_min_quality';
  }
  if (need.maxSats !== undefined && offer.priceMsat > satsToMsat(need.maxSats)) return 'above_cap';
  const host = new URL(offer.url).host;
  try {
    paidFetch.policy.checkPrice({ url: offer.url, host, amountMsat: offer.priceMsat });
  } catch {
    return 'above_cap';
  }
  const budgets = budgetsToCharge(
    paidFetch.budget,
    currentRunBudget(),
    options.budget,
    options.budgetFor?.(offer.origin),
  );
  for (const budget of budgets) {
    if (!(await budget.canAfford(offer.priceMsat, offer.maxFeeMsat, host))) return 'over_budget';
  }
  return undefined;
}

function byPriceThenQuality(a: ComparedOffer, b: ComparedOffer): number {
  if (a.priceMsat !== b.priceMsat) return a.priceMsat < b.priceMsat ? -1 : 1;
  return (b.quality ?? 0) - (a.quality ?? 0);
}

function failureOf(what: string, error: unknown): Omit<OfferFailure, 'url'> {
  if (error instanceof L402Error) return { reason: `${what} (${error.code})`, code: error.code };
  return { reason: what };
}
