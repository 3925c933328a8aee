import { type ComparedOffer, type Msat, satsToMsat } from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { formatLedger } from './ledger.js';
import {
  DEFAULT_SELLERS,
  type Market,
  type MarketResult,
  type MarketSetupOptions,
  runAnalyst,
  type SellerSpec,
  startMarket,
} from './run-market.js';

let market: Market | undefined;
afterEach(async () => {
  await market?.close();
  market = undefined;
});

async function open(options: MarketSetupOptions = {}): Promise<Market> {
  market = await startMarket(options);
  return market;
}

const sellerNames = DEFAULT_SELLERS.map((seller) => seller.name);
const total = (market: Market) => market.nodes.reduce((sum, node) => sum + node.balanceMsat, 0n);

/** Succeeded payments since `from`, as [payer, payee, amount + fee]. */
function paymentsSince(market: Market, from: number) {
  return market.network.payments
    .slice(from)
    .filter((payment) => payment.state === 'succeeded')
    .map((payment) => ({
      payer: payment.payer,
      payee: payment.payee,
      spentMsat: payment.amountMsat + payment.feeMsat,
    }));
}

/** What the network says each agent spent, since `from`. */
function spentBy(market: Market, from: number, name: string): Msat {
  return paymentsSince(market, from)
    .filter((payment) => payment.payer === name)
    .reduce((sum, payment) => sum + payment.spentMsat, 0n);
}

/** The ledger's rules, checked from the network, not from the ledger's own sums. */
function expectConserved(market: Market, result: MarketResult, totalBefore: Msat): void {
  expect(total(market) + result.ledger.feesMsat).toBe(totalBefore);
  expect(result.ledger.netMsat).toBe(0n);
  for (const balance of result.ledger.balances) {
    const node = market.nodes.find((each) => each.name === balance.name)!;
    expect(balance.afterMsat).toBe(node.balanceMsat);
  }
}

/** Every seller spent within its own budget, and its budget saw exactly its payments. */
async function expectSellerBudgets(market: Market, from: number, specs: readonly SellerSpec[]) {
  for (const seller of market.sellers) {
    const spec = specs.find((each) => each.name === seller.name)!;
    const status = await seller.budget.status();
    expect(status.spentMsat).toBe(spentBy(market, from, seller.name));
    expect(status.spentMsat).toBeLessThanOrEqual(satsToMsat(spec.budgetSats));
  }
}

describe('the agent market on the sandbox network (offline analyst)', () => {
  it('buys the cheapest adequate report once, and every sat is accounted for', async () => {
    const market = await open();
    const totalBefore = total(market);
    const from = market.network.payments.length;
    const result = await runAnalyst(market, { env: {}, budgetSats: 60, minQuality: 3 });
    expect(result.modelName).toBe('l402kit-offline-analyst');

    // The comparison saw all three sellers: a cheaper report below the quality asked, a
    // better one above the per-seller cap, and the one in between.
    const priceOf = (name: string) => result.offers.find((offer) => offer.seller === name)!;
    expect(result.offers).toHaveLength(3);
    expect(priceOf('Sat Briefs').priceMsat).toBeLessThan(priceOf('Review Desk').priceMsat);
    expect(priceOf('Deep Press').quality).toBeGreaterThan(priceOf('Review Desk').quality!);
    const fits = (offer: ComparedOffer) =>
      (offer.quality ?? 0) >= 3 && offer.priceMsat + offer.maxFeeMsat <= satsToMsat(45);
    const cheapest = result.offers
      .filter(fits)
      .toSorted((a, b) => Number(a.priceMsat - b.priceMsat))[0]!;
    expect(cheapest.seller).toBe('Review Desk');

    // One purchase by the analyst, from that seller, at its compared price.
    const bought = paymentsSince(market, from).filter((payment) => payment.payer === 'analyst');
    expect(bought).toHaveLength(1);
    expect(bought[0]!.payee).toBe('Review Desk');
    const analystPayment = market.network.payments.find((payment) => payment.payer === 'analyst')!;
    expect(analystPayment.amountMsat).toBe(cheapest.priceMsat);

    // Each report bought once: the chosen seller did the work once, and bought its sources
    // once (a search to quote, then its two articles); the others only searched to quote.
    expect(result.sellers.map((seller) => seller.sold.length)).toEqual([0, 1, 0]);
    const toApi = (name: string) =>
      paymentsSince(market, from).filter((p) => p.payer === name && p.payee === 'research-api');
    expect(toApi('Review Desk')).toHaveLength(1 + 2);
    expect(toApi('Sat Briefs')).toHaveLength(1);
    expect(toApi('Deep Press')).toHaveLength(1);

    // Money: conserved across the network (fees aside), and within every budget.
    expectConserved(market, result, totalBefore);
    const analystSpent = spentBy(market, from, 'analyst');
    expect(result.analyst.budget.spentMsat).toBe(analystSpent);
    expect(analystSpent).toBeLessThanOrEqual(satsToMsat(60));
    expect(result.analyst.perSeller['Review Desk']?.spentMsat).toBe(analystSpent);
    expect(result.analyst.perSeller['Review Desk']!.spentMsat).toBeLessThanOrEqual(satsToMsat(45));
    await expectSellerBudgets(market, from, DEFAULT_SELLERS);

    // The answer comes from the report, and the ledger prints who paid whom.
    expect(result.answer).toContain('from the report I bought from Review Desk');
    expect(result.answer).toContain('Routing fees and fee limits explained');
    const printed = formatLedger(result.ledger);
    expect(printed).toMatch(/analyst\s+Review Desk\s+1\s/);
    expect(printed).toMatch(/sum\s+0 sats/);
  });

  it.each([
    {
      case: 'a run budget below every adequate offer',
      budgetSats: 20,
      cap: 45,
      quality: 3,
      seller: undefined,
    },
    {
      case: 'a per-seller cap below every adequate offer',
      budgetSats: 60,
      cap: 20,
      quality: 3,
      seller: undefined,
    },
    { case: 'a lower quality bar', budgetSats: 60, cap: 45, quality: 2, seller: 'Sat Briefs' },
    {
      case: 'a cap that lets the best seller in',
      budgetSats: 100,
      cap: 90,
      quality: 5,
      seller: 'Deep Press',
    },
  ])('with $case, buys from $seller and stays within every budget', async (example) => {
    const market = await open({ maxSatsPerSeller: example.cap });
    const totalBefore = total(market);
    const from = market.network.payments.length;
    const result = await runAnalyst(market, {
      env: {},
      budgetSats: example.budgetSats,
      minQuality: example.quality,
    });
    const bought = paymentsSince(market, from).filter((payment) => payment.payer === 'analyst');
    expect(bought.map((payment) => payment.payee)).toEqual(
      example.seller === undefined ? [] : [example.seller],
    );
    const spent = spentBy(market, from, 'analyst');
    expect(spent).toBeLessThanOrEqual(satsToMsat(Math.min(example.budgetSats, example.cap)));
    expect(result.analyst.budget.spentMsat).toBe(spent);
    for (const name of sellerNames) {
      expect(result.analyst.perSeller[name]?.spentMsat ?? 0n).toBeLessThanOrEqual(
        satsToMsat(example.cap),
      );
    }
    if (example.seller === undefined) {
      expect(result.answer).toMatch(/could not buy a report/);
      expect(result.sellers.every((seller) => seller.sold.length === 0)).toBe(true);
    }
    expectConserved(market, result, totalBefore);
    await expectSellerBudgets(market, from, DEFAULT_SELLERS);
  });

  it('a seller whose own budget cannot cover the sources quotes nothing and is never paid', async () => {
    const sellers = DEFAULT_SELLERS.map((seller) =>
      seller.name === 'Review Desk' ? { ...seller, budgetSats: 15 } : seller,
    );
    const market = await open({ sellers, maxSatsPerSeller: 90 });
    const from = market.network.payments.length;
    const result = await runAnalyst(market, { env: {}, budgetSats: 100, minQuality: 3 });

    expect(result.offers.map((offer) => offer.seller)).not.toContain('Review Desk');
    const bought = paymentsSince(market, from).filter((payment) => payment.payer === 'analyst');
    expect(bought.map((payment) => payment.payee)).toEqual(['Deep Press']);
    // Review Desk spent only its quoting search, within its 15 sats.
    expect(spentBy(market, from, 'Review Desk')).toBeLessThan(satsToMsat(3));
    await expectSellerBudgets(market, from, sellers);
  });
});
