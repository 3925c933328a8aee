import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Budget,
  createBudget,
  createPaidFetch,
  type Msat,
  msatToSats,
  satsToMsat,
} from '@l402kit/core';
import { providers, type SearchResult } from '@l402kit/research-api';
import type { SandboxNetwork, SandboxNode } from '@l402kit/sandbox';
import { createSeller, type Seller, toNodeListener } from '@l402kit/server';

export interface ResearchSellerOptions {
  network: SandboxNetwork;
  /** The seller's name, in its catalogue and the ledger. */
  name: string;
  /** The research API provider whose articles it buys (`sat-digest`, `lightning-review`, ...). */
  provider: string;
  /** Articles bought for one report. */
  sources: number;
  /** Added to what the sources cost it. */
  marginSats: number;
  /** The quality it states in its catalogue (1-5). */
  quality: number;
  /** Its wallet's starting balance. */
  balanceSats: number;
  /** Its own budget: the most it may spend on sources, in total, fees included. */
  budgetSats: number;
  /**
   * The most its quotes may cost it, within `budgetSats`; default 10 sats. A quote needs a
   * search pass (2 sats, good for 10 minutes of searches) paid before any sale, and anyone may
   * ask for a quote, so this bounds what unpaid questions can make it spend.
   */
  quoteBudgetSats?: number;
  /** The paid research API it buys from. */
  apiUrl: string;
}

/** How a report fails after the buyer paid: the work throws (503), or the connection drops. */
export type SellerFailure = 'work-fails' | 'hangs-up';

export interface ResearchSeller {
  name: string;
  url: string;
  node: SandboxNode;
  budget: Budget;
  /** Questions it sold a report for (the work ran to the end). */
  sold: string[];
  /**
   * Makes the next `count` paid requests fail after the buyer paid (the token stays valid):
   * `work-fails` answers 503 saying so, `hangs-up` closes the connection without an answer.
   */
  failNext(count: number, how?: SellerFailure): void;
  /**
   * Restarts its shop with a new margin (same wallet and root key): quotes given so far are
   * forgotten, tokens it sold keep opening their reports at the price paid.
   */
  reprice(marginSats: number): void;
  close(): Promise<void>;
}

interface Plan {
  sources: Array<{ url: string; title: string; priceMsat: Msat; maxFeeMsat: Msat }>;
  /** What buying the sources will cost it at most, fees included. */
  costMsat: Msat;
}

/**
 * A research agent that sells reports: for a question it plans which articles of its provider
 * to buy (one paid search, then free quotes), prices the report from what they will cost it
 * (invoice prices and fee reserves) plus its margin, and only after the buyer paid buys them
 * with its own wallet and budget and writes the report.
 */
export async function startResearchSeller(options: ResearchSellerOptions): Promise<ResearchSeller> {
  const node = options.network.createNode({ name: options.name, balanceSats: options.balanceSats });
  const budget = createBudget({ name: options.name, maxSats: options.budgetSats });
  const quoting = budget.child({
    name: `${options.name} quotes`,
    maxSats: options.quoteBudgetSats ?? 10,
  });
  const paidFetch = createPaidFetch({
    wallet: node.wallet,
    budget,
    policy: {
      allowedHosts: [new URL(options.apiUrl).hostname],
      allowPrivateNetwork: true,
      requireHttps: false,
    },
  });
  const provider = providers.find((each) => each.id === options.provider);
  const plans = new Map<string, Plan>();
  const sold: string[] = [];
  const rootKey = new Uint8Array(randomBytes(32));
  let marginSats = options.marginSats;
  let failures = { count: 0, how: 'work-fails' as SellerFailure };

  /** Which articles to buy and what they will cost: a search (paid) and free quotes. */
  async function plan(question: string): Promise<Plan> {
    const known = plans.get(question);
    if (known !== undefined) return known;
    const search = await paidFetch(
      `${options.apiUrl}/v1/search?q=${encodeURIComponent(question)}&limit=30`,
      { maxSats: 2, budget: quoting },
    );
    const { results } = (await search.json()) as { results: Array<SearchResult & { url: string }> };
    const picked = results
      .filter((result) => result.kind === 'article' && result.provider === options.provider)
      .slice(0, options.sources);
    const sources: Plan['sources'] = [];
    let costMsat = 0n;
    for (const result of picked) {
      const quote = await paidFetch.quote(result.url);
      if (quote.priceMsat === undefined) continue;
      const maxFeeMsat = quote.maxFeeMsat ?? 0n;
      costMsat += quote.priceMsat + maxFeeMsat;
      sources.push({
        url: result.url,
        title: result.title,
        priceMsat: quote.priceMsat,
        maxFeeMsat,
      });
    }
    if (sources.length === 0) throw new Error(`${options.name} has no sources for this question`);
    const made = { sources, costMsat };
    plans.set(question, made);
    if (plans.size > 1_000) plans.delete(plans.keys().next().value as string);
    return made;
  }

  /** Refuses a sale it could not deliver: its budget must still cover the sources. */
  async function affordable(made: Plan): Promise<void> {
    const left = (await budget.status()).remainingMsat ?? 0n;
    if (left < made.costMsat) throw new Error(`${options.name}'s budget cannot cover the sources`);
  }

  const open = (): Seller =>
    createSeller({
      wallet: node.wallet,
      rootKey,
      serviceName: 'reports',
      description: `A research report by ${options.name}`,
      validForSeconds: 3_600,
      quote: async (request) => {
        const made = await plan(questionOf(request));
        await affordable(made);
        // Whole sats, rounded up: it never sells below its costs.
        return satsToMsat(msatToSats(made.costMsat) + marginSats);
      },
      work: async (request) => {
        const question = questionOf(request);
        const made = await plan(question);
        if (failures.count > 0 && failures.how === 'work-fails') {
          failures.count -= 1;
          throw new Error('the sources could not be reached');
        }
        await affordable(made);
        const findings = [];
        for (const source of made.sources) {
          // Never more than the quote the report's price was built on.
          const response = await paidFetch(source.url, {
            maxSats: msatToSats(source.priceMsat, 'exact'),
          });
          const article = (await response.json()) as { title: string; body: string };
          findings.push({ title: article.title, summary: firstSentence(article.body) });
        }
        sold.push(question);
        return Response.json({
          seller: options.name,
          question,
          provider: provider?.name ?? options.provider,
          findings,
        });
      },
      catalogue: {
        seller: { name: options.name, description: provider?.style ?? 'Research reports' },
        offers: [
          {
            id: 'report',
            title: `A report from ${options.sources} ${provider?.name ?? options.provider} sources`,
            kind: 'research-report',
            url: '/report?q={query}',
            quality: options.quality,
          },
        ],
      },
    });

  let seller = open();
  const listener = toNodeListener((request) => seller.handler(request));
  const server = createServer((request, response) => {
    // A paid request (it carries a token) to a seller told to hang up: no answer at all.
    if (failures.count > 0 && failures.how === 'hangs-up' && request.headers.authorization) {
      failures.count -= 1;
      request.socket.destroy();
      return;
    }
    listener(request, response);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    name: options.name,
    url,
    node,
    budget,
    sold,
    failNext: (count, how = 'work-fails') => {
      failures = { count, how };
    },
    reprice: (margin) => {
      marginSats = margin;
      seller = open();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function questionOf(request: Request): string {
  const question = new URL(request.url).searchParams.get('q')?.trim() ?? '';
  if (question.length === 0 || question.length > 500) throw new Error('a question is needed');
  return question;
}

function firstSentence(text: string): string {
  return /^[^.!?]*[.!?]/.exec(text)?.[0] ?? text.slice(0, 200);
}
