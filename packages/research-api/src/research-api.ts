import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Wallet } from '@l402kit/core';
import { createPaywall, type NodeMiddleware } from '@l402kit/server';
import { articles, datasets } from './documents.js';
import { providerName, providers } from './providers.js';
import { search } from './search.js';

export interface ResearchApiOptions {
  /** The seller's wallet: it creates the invoices buyers pay. */
  wallet: Wallet;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Signs the macaroons; random per start by default (tokens then die with the process). */
  rootKey?: Uint8Array;
  /** Price of one search pass; default 2 sats. */
  searchPriceSats?: number;
  /** Told about paywall failures (wallet down); default: ignored. */
  onError?: (error: unknown) => void;
}

export interface ResearchApi {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Paths delivered to a paying client, in order. */
  delivered: string[];
  close(): Promise<void>;
}

interface Route {
  paywall: NodeMiddleware;
  respond: (url: URL, origin: string) => unknown;
}

/**
 * A research API selling behind L402: a search pass, articles from competing providers at
 * different prices, and datasets priced above a typical agent's run budget. Each token is bound
 * to the path it was bought for, so a 2-sat search token never opens a 28-sat article.
 */
export async function startResearchApi(options: ResearchApiOptions): Promise<ResearchApi> {
  const rootKey = options.rootKey ?? randomBytes(32);
  const searchPriceSats = options.searchPriceSats ?? 2;
  const paywall = (price: number, description: string, validForSeconds: number) =>
    createPaywall({
      wallet: options.wallet,
      rootKey,
      serviceName: 'research',
      price,
      description,
      validForSeconds,
      bindToPath: true,
      bindToMethod: true,
      onError: options.onError,
    }).nodeMiddleware();

  const routes = new Map<string, Route>();
  routes.set('/v1/search', {
    paywall: paywall(searchPriceSats, 'Research API search pass (10 minutes)', 600),
    respond: (url, origin) => {
      const query = url.searchParams.get('q') ?? '';
      const results = search(query, Number(url.searchParams.get('limit') ?? 8) || 8);
      return {
        query,
        results: results.map(({ path, ...result }) => ({ ...result, url: `${origin}${path}` })),
      };
    },
  });
  for (const article of articles) {
    const { body, ...listing } = article;
    routes.set(`/v1/articles/${article.id}`, {
      paywall: paywall(
        article.priceSats,
        `Article "${article.title}" by ${providerName(article.provider)}`,
        3600,
      ),
      respond: () => ({ ...listing, providerName: providerName(article.provider), body }),
    });
  }
  for (const dataset of datasets) {
    routes.set(`/v1/datasets/${dataset.id}`, {
      paywall: paywall(
        dataset.priceSats,
        `Dataset "${dataset.title}" by ${providerName(dataset.provider)}`,
        3600,
      ),
      respond: () => ({ ...dataset, providerName: providerName(dataset.provider) }),
    });
  }

  const delivered: string[] = [];
  let origin = '';
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', origin);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendJson(response, 405, { error: 'method_not_allowed' });
    }
    if (url.pathname === '/' || url.pathname === '/v1') {
      return sendJson(response, 200, catalog(origin, searchPriceSats));
    }
    const route = routes.get(url.pathname);
    if (route === undefined) return sendJson(response, 404, { error: 'not_found' });
    route.paywall(request, response, (error) => {
      if (error !== undefined) return sendJson(response, 500, { error: 'internal_error' });
      delivered.push(url.pathname);
      sendJson(response, 200, route.respond(url, origin));
    });
  });
  // Agents keep connections open between calls; do not let that hold close() up.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${host}:${address.port}`;

  return {
    url: origin,
    delivered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The free front page: what is sold, by whom, at what price. */
function catalog(origin: string, searchPriceSats: number) {
  return {
    name: 'l402kit example research API',
    payment: 'L402 (Lightning). Unpaid requests get HTTP 402 with a macaroon and an invoice.',
    endpoints: [
      {
        path: '/v1/search?q=<query>',
        priceSats: searchPriceSats,
        returns: 'titles, snippets, providers and prices of matching articles and datasets',
      },
      {
        path: '/v1/articles/<id>',
        priceSats: 'per article, see search results',
        returns: 'the full article',
      },
      {
        path: '/v1/datasets/<id>',
        priceSats: 'per dataset, see search results',
        returns: 'the dataset',
      },
    ],
    providers,
    searchUrl: `${origin}/v1/search?q=`,
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
