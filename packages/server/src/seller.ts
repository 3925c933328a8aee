import {
  createSingleFlight,
  type Msat,
  OFFER_CATALOGUE_PATH,
  OFFER_CATALOGUE_VERSION,
  type OfferCatalogue,
  offerCatalogueSchema,
  sha256Hex,
} from '@l402kit/core';
import { LRUCache } from 'lru-cache';
import { PaywallConfigError } from './errors.js';
import { type PaywallOptions, type PriceValue, priceToMsat } from './options.js';
import { createPaywall, type Paywall } from './paywall.js';
import type { PaidToken } from './verify-credential.js';

export interface SellerWorkContext {
  /** The token that paid; undefined when the quote was 0 (free). */
  token: PaidToken | undefined;
  /** What this request was sold for. */
  priceMsat: Msat;
  /** The request's key (see `requestKey`). */
  requestKey: string;
}

export interface SellerOptions extends Omit<PaywallOptions, 'price' | 'requestKey' | 'bindToPath'> {
  /**
   * The price of a request, decided before any work: e.g. what the work will cost the seller
   * (sources, compute) plus a margin. Sats (`number`) or msat (`bigint`); 0 is free. Asked once
   * per request key; the answer holds for `quoteTtlSeconds`, so a buyer who compares quotes
   * and then buys meets the same price, and a token that paid for a request keeps opening it
   * whatever the quote becomes.
   */
  quote: (request: Request) => PriceValue | Promise<PriceValue>;
  /**
   * The work, run only after payment, at most once per token at a time. A 2xx result is kept
   * per token, so a retry with the same token gets it again without running the work again. A
   * throw or a 5xx answers 503 saying the token stays valid: the buyer's retry costs nothing.
   */
  work: (request: Request, context: SellerWorkContext) => Response | Promise<Response>;
  /**
   * What makes two requests the same purchase. Default: the method, path, query and a sha256
   * of the body (bodies over `maxRequestBodyBytes` are refused). A token opens only requests
   * with its key, so one report bought does not open another question's.
   */
  requestKey?: (request: Request) => string | Promise<string>;
  /** How long a quote holds; default 3,600 s. */
  quoteTtlSeconds?: number;
  /** Quotes kept at most (least recently used go first); default 10,000. */
  maxQuotes?: number;
  /** Results kept at most, one per paying token; default 1,000. */
  maxResults?: number;
  /** A result larger than this is served but not kept; default 1 MiB. */
  maxResultBytes?: number;
  /** For the default request key: larger request bodies are refused (500); default 64 KiB. */
  maxRequestBodyBytes?: number;
  /** How long a result is kept; default `validForSeconds`, else 3,600 s. */
  resultTtlSeconds?: number;
  /**
   * Published free at `/.well-known/l402-catalogue` (`OFFER_CATALOGUE_PATH`): who sells and what,
   * for buyers comparing sellers (`compareOffers` in `@l402kit/core`). Checked against the
   * catalogue schema at start.
   */
  catalogue?: Omit<OfferCatalogue, 'l402_catalogue'>;
}

export interface Seller {
  /** Serves the catalogue (when given) and sells everything else: a Fetch-API handler. */
  handler(request: Request): Promise<Response>;
  /** The paywall underneath (with `requestKey` binding), e.g. for `verifyCredential`. */
  readonly paywall: Paywall;
  /** The published catalogue, as served. */
  readonly catalogue: OfferCatalogue | undefined;
}

interface KeptResult {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

const DEFAULT_TTL_SECONDS = 3_600;

/**
 * Sells the result of some work, such as an agent's report, behind L402. Quote first, work
 * only after payment, never charge twice for one request: the quote is kept per request key,
 * every token is bound to its request (and path), a token that paid keeps opening its request
 * at the price it paid, and the result is kept per token.
 */
export function createSeller(options: SellerOptions): Seller {
  const { quote, work, catalogue, ...paywallOptions } = options;
  if (typeof quote !== 'function' || typeof work !== 'function') {
    throw new PaywallConfigError('a seller needs a quote function and a work function');
  }
  const count = (name: string, value: number | undefined, fallback: number) => {
    const chosen = value ?? fallback;
    if (!Number.isSafeInteger(chosen) || chosen <= 0) {
      throw new PaywallConfigError(`${name} must be a positive whole number`);
    }
    return chosen;
  };
  const quoteTtlMs = count('quoteTtlSeconds', options.quoteTtlSeconds, DEFAULT_TTL_SECONDS) * 1000;
  const resultTtlMs =
    count(
      'resultTtlSeconds',
      options.resultTtlSeconds,
      options.validForSeconds ?? DEFAULT_TTL_SECONDS,
    ) * 1000;
  const maxResultBytes = count('maxResultBytes', options.maxResultBytes, 1024 * 1024);
  const maxBodyBytes = count('maxRequestBodyBytes', options.maxRequestBodyBytes, 64 * 1024);
  const published = catalogue === undefined ? undefined : checkCatalogue(catalogue);
  const requestKey = options.requestKey ?? ((request) => defaultRequestKey(request, maxBodyBytes));

  const quotes = new LRUCache<string, { priceMsat: Msat }>({
    max: count('maxQuotes', options.maxQuotes, 10_000),
    ttl: quoteTtlMs,
  });
  const results = new LRUCache<string, KeptResult>({
    max: count('maxResults', options.maxResults, 1_000),
    ttl: resultTtlMs,
  });
  const quoting = createSingleFlight<Msat>();
  const working = createSingleFlight<KeptResult>();
  const report = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // A failing logger must not change the answer.
    }
  };

  const paywall: Paywall = createPaywall({
    ...paywallOptions,
    requestKey,
    bindToPath: true,
    price: async (request, { requestKey: key = '' }) => {
      // A token bought for this very request opens it at the price it paid: a paid retry is
      // never charged again, even if the quote has since been forgotten or risen.
      const header = request.headers.get('authorization');
      if (header !== null) {
        const paid = paywall.verifyCredential(header, {
          path: new URL(request.url).pathname,
          method: request.method,
          requestKey: key,
          priceMsat: 0n,
        });
        if (paid.ok && paid.token.paidMsat !== undefined) return paid.token.paidMsat;
      }
      const kept = quotes.get(key);
      if (kept !== undefined) return kept.priceMsat;
      return quoting.run(key, async () => {
        const priceMsat = priceToMsat(await quote(request));
        quotes.set(key, { priceMsat });
        return priceMsat;
      });
    },
  });

  const sell = paywall.handler(async (request, { token }) => {
    const key = await requestKey(request.body === null ? request : request.clone());
    const priceMsat = token?.paidMsat ?? quotes.get(key)?.priceMsat ?? 0n;
    // Free (a quote of 0): nothing to keep per token.
    if (token === undefined) return runWork(request, { token, priceMsat, requestKey: key });
    const kept = results.get(token.paymentHash);
    if (kept !== undefined) return fromKept(kept);
    // Concurrent requests with one token share one run of the work.
    const result = await working.run(token.paymentHash, async () => {
      const response = await runWork(request, { token, priceMsat, requestKey: key });
      const body = new Uint8Array(await response.arrayBuffer());
      const done: KeptResult = { status: response.status, headers: [...response.headers], body };
      const succeeded = response.status >= 200 && response.status < 300;
      if (succeeded && body.byteLength <= maxResultBytes) results.set(token.paymentHash, done);
      return done;
    });
    return fromKept(result);
  });

  /** The work, with a failure after payment turned into a 503 that says the token still works. */
  async function runWork(request: Request, context: SellerWorkContext): Promise<Response> {
    try {
      const response = await work(request, context);
      if (response.status < 500) return response;
      await response.body?.cancel();
      report(new Error(`the work answered ${response.status}`));
    } catch (error) {
      report(error);
    }
    return workFailedResponse(context.token !== undefined);
  }

  return {
    paywall,
    catalogue: published,
    async handler(request) {
      if (published !== undefined && new URL(request.url).pathname === OFFER_CATALOGUE_PATH) {
        return jsonResponse(200, published, { 'Cache-Control': 'public, max-age=60' });
      }
      return sell(request);
    },
  };
}

function checkCatalogue(catalogue: Omit<OfferCatalogue, 'l402_catalogue'>): OfferCatalogue {
  const parsed = offerCatalogueSchema.safeParse({
    l402_catalogue: OFFER_CATALOGUE_VERSION,
    ...catalogue,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PaywallConfigError(
      `the catalogue is not one buyers accept: ${issue?.path.join('.') || 'catalogue'}: ${issue?.message}`,
    );
  }
  const ids = parsed.data.offers.map((offer) => offer.id);
  if (new Set(ids).size !== ids.length) {
    throw new PaywallConfigError('the catalogue offers must have different ids');
  }
  return parsed.data;
}

/** Method, path, query and a digest of the body: what a buyer asked for. */
async function defaultRequestKey(request: Request, maxBodyBytes: number): Promise<string> {
  const url = new URL(request.url);
  const head = `${request.method.toUpperCase()} ${url.pathname}${url.search}`;
  if (request.body === null) return head;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBodyBytes) {
      await reader.cancel();
      throw new RangeError(`the request body is larger than ${maxBodyBytes} bytes`);
    }
    chunks.push(value);
  }
  return `${head} ${sha256Hex(Buffer.concat(chunks))}`;
}

function fromKept(kept: KeptResult): Response {
  return new Response(kept.body.slice(), { status: kept.status, headers: kept.headers });
}

function workFailedResponse(paid: boolean): Response {
  return jsonResponse(
    503,
    {
      error: 'work_failed',
      message: paid
        ? 'The work failed after payment. The token stays valid for this request: send it again with the same Authorization header and the retry costs nothing.'
        : 'The work failed; nothing was charged.',
      token_valid: paid,
    },
    { 'Retry-After': '1' },
  );
}

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      ...headers,
    },
  });
}
