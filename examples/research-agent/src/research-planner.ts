import { formatMsat } from '@l402kit/core';
import {
  availableFromText,
  budgetFromText,
  fetchedFromText,
  parseJson,
  quotedPriceFromText,
  toolErrorFromText,
} from './tool-text.js';
import { type Purchase, type Skipped, writeReport } from './write-report.js';

/** One tool call the model made, with the text the tool returned (once it has). */
export interface ToolCallRecord {
  name: string;
  args: Record<string, unknown>;
  result?: string;
}

/** What the planner reads: the question, where the research API is, and the calls so far. */
export interface ResearchTranscript {
  question: string;
  apiUrl: string;
  calls: ToolCallRecord[];
}

export type PlannerStep =
  | {
      kind: 'call-tools';
      thought: string;
      calls: { name: string; args: Record<string, unknown> }[];
    }
  | { kind: 'answer'; text: string };

export interface PlannerOptions {
  /** Stop after this many purchased sources; default 4. */
  maxPurchases?: number;
  /** Quote at most this many search results; default 8. */
  maxQuotes?: number;
}

/** A search result as the research API lists it. */
export interface Candidate {
  id: string;
  kind: string;
  title: string;
  topic: string;
  providerName: string;
  quality: number;
  priceSats: number;
  score: number;
  url: string;
}

/**
 * Decides the next step of a research run from the tool results so far: search, quote the
 * promising results, buy the best set it can afford with what the budget says is left (one
 * purchase at a time, re-reading the budget after each), then write the report. It never
 * assumes a purchase worked: prices, refusals and the remaining budget come from tool text.
 */
export function planNextStep(
  transcript: ResearchTranscript,
  options: PlannerOptions = {},
): PlannerStep {
  const maxPurchases = options.maxPurchases ?? 4;
  const maxQuotes = options.maxQuotes ?? 8;
  const { calls, question } = transcript;
  const isSearch = (call: ToolCallRecord) =>
    call.name === 'l402_fetch' && String(call.args.url ?? '').includes('/v1/search');
  const finished = calls.filter((call) => call.result !== undefined);
  const available = latest(finished, (call) => availableFromText(call.result!));
  const budget = latest(finished, (call) => budgetFromText(call.result!));

  const searchCall = finished.find(isSearch);
  if (searchCall === undefined) {
    return {
      kind: 'call-tools',
      thought: 'First I check the budget and search the research API for sources.',
      calls: [
        { name: 'budget_status', args: {} },
        {
          name: 'l402_fetch',
          args: { url: `${transcript.apiUrl}/v1/search?q=${encodeURIComponent(question)}` },
        },
      ],
    };
  }
  const searched = fetchedFromText(searchCall.result!);
  const results = searched?.status === 200 ? readResults(parseJson(searched.body)) : undefined;
  if (results === undefined) {
    const error = toolErrorFromText(searchCall.result!);
    return {
      kind: 'answer',
      text: writeReport({
        question,
        purchases: [],
        skipped: [],
        budget,
        problem: `I could not search the research API: ${error ? `${error.code}: ${error.message}` : searchCall.result!.split('\n')[0]}`,
      }),
    };
  }

  const quotes = new Map<string, bigint | 'failed'>();
  for (const call of finished) {
    if (call.name !== 'l402_quote') continue;
    quotes.set(String(call.args.url), quotedPriceFromText(call.result!) ?? 'failed');
  }
  const topScore = Math.max(1, ...results.map((result) => result.score));
  // Results far less relevant than the best one are not worth a quote, let alone a purchase.
  const relevant = results.filter((result) => result.score >= topScore * 0.4).slice(0, maxQuotes);
  const unquoted = relevant.filter((result) => !quotes.has(result.url));
  if (unquoted.length > 0) {
    return {
      kind: 'call-tools',
      thought: `The search found ${results.length} sources. I ask for the exact price of the ${unquoted.length} most relevant before buying.`,
      calls: unquoted.map((result) => ({ name: 'l402_quote', args: { url: result.url } })),
    };
  }

  const purchases: Purchase[] = [];
  const refused = new Map<string, string>();
  for (const call of finished) {
    if (call.name !== 'l402_fetch' || isSearch(call)) continue;
    const candidate = relevant.find((result) => result.url === call.args.url);
    if (candidate === undefined) continue;
    const fetched = fetchedFromText(call.result!);
    const document = fetched?.status === 200 ? parseJson(fetched.body) : undefined;
    if (isRecord(document) && typeof document.body === 'string') {
      purchases.push({ ...candidate, body: document.body });
    } else if (isRecord(document) && Array.isArray(document.rows)) {
      purchases.push({ ...candidate, body: String(document.notes ?? '') });
    } else {
      const error = toolErrorFromText(call.result!);
      refused.set(candidate.url, error ? error.code : `HTTP ${fetched?.status ?? '?'}`);
    }
  }

  const priced = relevant.flatMap((result) => {
    const price = quotes.get(result.url);
    return typeof price === 'bigint' ? [{ ...result, priceMsat: price }] : [];
  });
  const open = priced.filter(
    (result) =>
      !refused.has(result.url) && !purchases.some((purchase) => purchase.url === result.url),
  );
  const boughtTopics = new Set(purchases.map((purchase) => purchase.topic));
  const value = (candidate: Candidate, covered: Set<string>) =>
    (candidate.score / topScore) *
    (candidate.quality / 5) *
    (covered.has(candidate.topic) ? 0.3 : 1);
  const next =
    purchases.length < maxPurchases
      ? bestPurchase(open, available, boughtTopics, value, maxPurchases - purchases.length)
      : undefined;
  if (next !== undefined) {
    return {
      kind: 'call-tools',
      thought: `"${next.title}" (${next.providerName}, ${next.priceSats} sats) is the best value I can still afford; buying it.`,
      calls: [{ name: 'l402_fetch', args: { url: next.url, maxSats: next.priceSats } }],
    };
  }

  const skipped: Skipped[] = [];
  for (const result of priced) {
    if (purchases.some((purchase) => purchase.url === result.url)) continue;
    const reason = refused.has(result.url)
      ? `the purchase was refused (${refused.get(result.url)})`
      : available !== undefined && costWithFees(result.priceMsat) > available
        ? `costs more than the budget had left (${formatMsat(available)})`
        : purchases.length >= maxPurchases
          ? `I stopped at ${maxPurchases} sources`
          : boughtTopics.has(result.topic)
            ? 'its topic is covered by a source I bought'
            : 'less value for the price than the sources I bought';
    skipped.push({ ...result, reason });
  }
  return { kind: 'answer', text: writeReport({ question, purchases, skipped, budget }) };
}

/** Routing fees are reserved on top of the price: l402kit's default limit is 1 sat + 1 %. */
function costWithFees(priceMsat: bigint): bigint {
  return priceMsat + 1_000n + (priceMsat + 99n) / 100n;
}

/**
 * The most valuable affordable set of sources (a second source on a topic counts for less),
 * and from it the single most valuable one to buy now.
 */
function bestPurchase<T extends Candidate & { priceMsat: bigint }>(
  open: T[],
  available: bigint | undefined,
  boughtTopics: Set<string>,
  value: (candidate: Candidate, covered: Set<string>) => number,
  slots: number,
): T | undefined {
  const affordable = open
    .filter(
      (candidate) => available === undefined || costWithFees(candidate.priceMsat) <= available,
    )
    .slice(0, 12);
  let best: { worth: number; cost: bigint; set: T[] } = { worth: 0, cost: 0n, set: [] };
  for (let mask = 1; mask < 1 << affordable.length; mask++) {
    const set = affordable.filter((_, index) => mask & (1 << index));
    if (set.length > slots) continue;
    const cost = set.reduce((sum, candidate) => sum + costWithFees(candidate.priceMsat), 0n);
    if (available !== undefined && cost > available) continue;
    const covered = new Set(boughtTopics);
    let worth = 0;
    for (const candidate of [...set].sort((a, b) => value(b, covered) - value(a, covered))) {
      worth += value(candidate, covered);
      covered.add(candidate.topic);
    }
    if (worth > best.worth + 1e-9 || (Math.abs(worth - best.worth) <= 1e-9 && cost < best.cost)) {
      best = { worth, cost, set };
    }
  }
  return best.set.sort((a, b) => value(b, boughtTopics) - value(a, boughtTopics))[0];
}

function readResults(value: unknown): Candidate[] | undefined {
  if (!isRecord(value) || !Array.isArray(value.results)) return undefined;
  return value.results.filter(
    (result): result is Candidate =>
      isRecord(result) &&
      typeof result.url === 'string' &&
      typeof result.title === 'string' &&
      typeof result.score === 'number',
  );
}

function latest<T>(calls: ToolCallRecord[], read: (call: ToolCallRecord) => T | undefined) {
  let found: T | undefined;
  for (const call of calls) found = read(call) ?? found;
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
