import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  compareOffers,
  createBudget,
  createL402Tools,
  createOfferMarket,
  createPaidFetch,
  OFFER_CATALOGUE_PATH,
  PaidNotDeliveredError,
  PriceAboveCapError,
} from '@l402kit/core';
import { createSandboxNetwork, type SandboxNetwork } from '@l402kit/sandbox';
import { createPaywall, createSeller, toNodeListener } from '@l402kit/server';
import { afterEach, describe, expect, it } from 'vitest';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function serve(listener: Parameters<typeof createServer>[1]) {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  closers.push(close);
  return { url, close };
}

/** A report seller on the sandbox network: its price, stated quality and a work counter. */
async function startSeller(
  network: SandboxNetwork,
  name: string,
  priceSats: number,
  quality: number,
  stated?: { min?: number; max?: number },
) {
  const node = network.createNode({ name });
  const sold: string[] = [];
  const seller = createSeller({
    wallet: node.wallet,
    rootKey: new Uint8Array(randomBytes(32)),
    serviceName: 'reports',
    quote: () => priceSats,
    work: (request) => {
      const question = new URL(request.url).searchParams.get('q') ?? '';
      sold.push(question);
      return Response.json({ seller: name, report: `On ${question}` });
    },
    catalogue: {
      seller: { name },
      offers: [
        {
          id: 'report',
          title: `${name} report`,
          kind: 'research-report',
          url: '/report?q={query}',
          quality,
          ...(stated === undefined ? {} : { price_sats: stated }),
        },
      ],
    },
  });
  const server = await serve(toNodeListener(seller.handler));
  return { ...server, node, sold };
}

function buyerFetch(network: SandboxNetwork, balanceSats = 1_000) {
  const buyer = network.createNode({ name: 'analyst', balanceSats });
  const budget = createBudget({ name: 'analyst', maxSats: 200 });
  const paidFetch = createPaidFetch({
    wallet: buyer.wallet,
    budget,
    policy: { allowPrivateNetwork: true, requireHttps: false },
  });
  return { buyer, budget, paidFetch };
}

describe('compareOffers', () => {
  it('picks the cheapest offer of the quality asked for, and pays nothing to compare', async () => {
    const network = createSandboxNetwork();
    const cheap = await startSeller(network, 'Sat Briefs', 12, 2);
    const middle = await startSeller(network, 'Review Desk', 20, 4);
    const deep = await startSeller(network, 'Deep Press', 30, 5);
    const { buyer, paidFetch } = buyerFetch(network);
    const before = buyer.balanceMsat;
    const comparison = await compareOffers(paidFetch, {
      sellers: [deep.url, cheap.url, `${middle.url}${OFFER_CATALOGUE_PATH}`],
      need: { query: 'how do fees work?', kind: 'research-report', minQuality: 3 },
    });
    expect(comparison.best).toMatchObject({
      seller: 'Review Desk',
      priceMsat: 20_000n,
      quality: 4,
      url: `${middle.url}/report?q=how%20do%20fees%20work%3F`,
    });
    expect(comparison.offers.map((offer) => [offer.seller, offer.excluded])).toEqual([
      ['Review Desk', undefined],
      ['Deep Press', undefined],
      ['Sat Briefs', 'below_min_quality'],
    ]);
    expect(comparison.failures).toEqual([]);
    expect(buyer.balanceMsat).toBe(before);
    expect(network.payments).toEqual([]);
    expect([cheap.sold, middle.sold, deep.sold]).toEqual([[], [], []]);
  });

  it('ranks by the invoice, never by the price a catalogue states', async () => {
    const network = createSandboxNetwork();
    // Claims 1 sat, asks 30: the claim changes nothing.
    const liar = await startSeller(network, 'Cheap Claims', 30, 4, { max: 1 });
    const honest = await startSeller(network, 'Plain Prices', 25, 4, { min: 20, max: 30 });
    const { paidFetch } = buyerFetch(network);
    const comparison = await compareOffers(paidFetch, {
      sellers: [liar.url, honest.url],
      need: { query: 'fees' },
    });
    expect(comparison.offers.map((offer) => [offer.seller, offer.priceMsat])).toEqual([
      ['Plain Prices', 25_000n],
      ['Cheap Claims', 30_000n],
    ]);
    expect(comparison.offers.map((offer) => offer.priceDiffersFromStated)).toEqual([false, true]);
  });

  it('refuses hostile catalogues without paying: too large, not JSON, invalid, paywalled, redirected, pointing elsewhere', async () => {
    const network = createSandboxNetwork();
    const good = await startSeller(network, 'Good', 10, 3);
    const other = await startSeller(network, 'Other', 10, 3);
    const catalogue = (url: string) =>
      JSON.stringify({
        l402_catalogue: 1,
        seller: { name: 'Elsewhere' },
        offers: [{ id: 'x', title: 'x', url }],
      });
    const paywalled = createPaywall({
      wallet: network.createNode({ name: 'toll' }).wallet,
      rootKey: new Uint8Array(randomBytes(32)),
      serviceName: 'toll',
      price: 1,
    }).handler(() => new Response('{}'));
    const hostile = await serve(async (request, response) => {
      const path = request.url ?? '';
      if (path.startsWith('/huge')) {
        response.setHeader('content-type', 'application/json');
        return void response.end(`{"pad":"${'x'.repeat(100_000)}"}`);
      }
      if (path.startsWith('/html')) return void response.end('<html>not json</html>');
      if (path.startsWith('/invalid')) {
        return void response.end('{"l402_catalogue":1,"seller":{"name":""},"offers":[]}');
      }
      if (path.startsWith('/redirect')) {
        return void response
          .writeHead(302, { location: `${good.url}${OFFER_CATALOGUE_PATH}` })
          .end();
      }
      if (path.startsWith('/elsewhere')) return void response.end(catalogue(`${other.url}/report`));
      const paid = await paywalled(new Request(`http://toll${path}`));
      response.writeHead(paid.status, Object.fromEntries(paid.headers));
      response.end(await paid.text());
    });
    const { buyer, paidFetch } = buyerFetch(network);
    const before = buyer.balanceMsat;
    const comparison = await compareOffers(paidFetch, {
      sellers: [
        `${hostile.url}/huge`,
        `${hostile.url}/html`,
        `${hostile.url}/invalid`,
        `${hostile.url}/redirect`,
        `${hostile.url}/elsewhere`,
        `${hostile.url}/toll`,
        good.url,
      ],
      need: { query: 'fees' },
    });
    expect(comparison.best?.seller).toBe('Good');
    expect(comparison.offers).toHaveLength(1);
    expect(comparison.failures.map((failure) => failure.reason)).toEqual([
      'the catalogue is larger than 65536 bytes',
      'the catalogue is not JSON',
      'the catalogue is not valid (at seller.name)',
      'the catalogue could not be read (REQUEST_FAILED)',
      "its URL is on another origin than the seller's catalogue",
      'the catalogue could not be read (PRICE_ABOVE_CAP)',
    ]);
    expect(buyer.balanceMsat).toBe(before);
    expect(network.payments).toEqual([]);
  });
});

describe('createOfferMarket: buying within every cap', () => {
  it('does not pay a seller whose price rose between the quote and the purchase', async () => {
    const network = createSandboxNetwork();
    const node = network.createNode({ name: 'riser' });
    let price = 10;
    const paywall = createPaywall({
      wallet: node.wallet,
      rootKey: new Uint8Array(randomBytes(32)),
      serviceName: 'reports',
      // Quotes low, then asks more from the next request on: no quote is kept.
      price: () => price,
    });
    const handler = paywall.handler(() => Response.json({ report: 'dear' }));
    const riser = await serve(
      toNodeListener(async (request) =>
        new URL(request.url).pathname === OFFER_CATALOGUE_PATH
          ? Response.json({
              l402_catalogue: 1,
              seller: { name: 'Riser' },
              offers: [{ id: 'r', title: 'report', url: '/report?q={query}' }],
            })
          : handler(request),
      ),
    );
    const { buyer, budget, paidFetch } = buyerFetch(network);
    const market = createOfferMarket({ paidFetch, sellers: [riser.url] });
    const comparison = await market.compare({ query: 'fees', maxSats: 15 });
    expect(comparison.best?.priceMsat).toBe(10_000n);
    price = 14; // still under the buyer's own cap of 15, but above the quote
    const before = buyer.balanceMsat;
    const refused = await market.buy(comparison.best!).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PriceAboveCapError);
    expect(refused).toMatchObject({ paid: false });
    expect(buyer.balanceMsat).toBe(before);
    expect((await budget.status()).spentMsat).toBe(0n);
  });

  it('holds a cap per seller across purchases, under the run budget', async () => {
    const network = createSandboxNetwork();
    const seller = await startSeller(network, 'Briefs', 12, 3);
    const { paidFetch } = buyerFetch(network);
    const market = createOfferMarket({ paidFetch, sellers: [seller.url], maxSatsPerSeller: 25 });
    const run = createBudget({ name: 'run', maxSats: 100 });
    const first = await market.compare({ query: 'fees' }, { budget: run });
    expect((await market.buy(first.best!, { budget: run })).status).toBe(200);
    const second = await market.compare({ query: 'routing' }, { budget: run });
    // 12 sats + its fee reserve no longer fit in what is left of 25 for this seller.
    expect(second.best).toBeUndefined();
    expect(second.offers[0]).toMatchObject({ excluded: 'over_budget', priceMsat: 12_000n });
    // Bought anyway (a model ignoring the ranking): refused by the seller's budget level.
    const refused = await market.buy(second.offers[0]!, { budget: run }).catch((error) => error);
    expect(refused).toMatchObject({ code: 'BUDGET_EXCEEDED', paid: false });
    expect(seller.sold).toEqual(['fees']);
    expect((await run.status()).spentMsat).toBe(12_000n);
  });

  it('a seller that stops answering after payment: PaidNotDeliveredError, the money accounted for', async () => {
    const network = createSandboxNetwork();
    const node = network.createNode({ name: 'vanisher' });
    const seller = createSeller({
      wallet: node.wallet,
      rootKey: new Uint8Array(randomBytes(32)),
      serviceName: 'reports',
      quote: () => 15,
      work: () => Response.json({ report: 'never sent' }),
      catalogue: {
        seller: { name: 'Vanisher' },
        offers: [{ id: 'report', title: 'report', url: '/report?q={query}' }],
      },
    });
    const listener = toNodeListener(seller.handler);
    const vanisher = await serve((request, response) => {
      // Paid requests get no answer: the connection is dropped.
      if (request.headers.authorization) return void request.socket.destroy();
      listener(request, response);
    });
    const { buyer, budget, paidFetch } = buyerFetch(network);
    const market = createOfferMarket({ paidFetch, sellers: [vanisher.url] });
    const { best } = await market.compare({ query: 'fees' });
    const before = buyer.balanceMsat;
    const failure = await market.buy(best!).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PaidNotDeliveredError);
    expect(failure).toMatchObject({ paid: true, amountMsat: 15_000n });
    expect(before - buyer.balanceMsat).toBe(15_000n);
    expect(node.balanceMsat).toBe(15_000n);
    expect((await budget.status()).spentMsat).toBe(15_000n);
    // The token is kept: trying again pays nothing more.
    await market.buy(best!).catch(() => {});
    expect(before - buyer.balanceMsat).toBe(15_000n);
  });
});

describe('compare_offers and buy_offer tools', () => {
  it('list the offers with ids and buy one at no more than its quoted price', async () => {
    const network = createSandboxNetwork();
    const cheap = await startSeller(network, 'Sat Briefs', 12, 3);
    const dear = await startSeller(network, 'Deep Press', 30, 5);
    const { buyer, paidFetch } = buyerFetch(network);
    const tools = createL402Tools({
      paidFetch,
      offers: { sellers: [dear.url, cheap.url], maxSatsPerSeller: 50 },
    });
    const compare = tools.find((tool) => tool.name === 'compare_offers')!;
    const buy = tools.find((tool) => tool.name === 'buy_offer')!;
    const listed = await compare.execute({ need: 'fees', minQuality: 3 });
    expect(listed).toContain('Nothing was paid to compare.');
    expect(listed).toMatch(/- offer-1: 12 sats .*"Sat Briefs"/);
    expect(listed).toMatch(/- offer-2: 30 sats .*"Deep Press"/);
    const before = buyer.balanceMsat;
    const bought = await buy.execute({ offerId: 'offer-1' });
    expect(bought).toContain('Paid 12 sats');
    expect(bought).toContain('On fees');
    expect(before - buyer.balanceMsat).toBe(12_000n);
    expect(await buy.execute({ offerId: 'offer-99' })).toContain('Nothing was paid');
  });
});
