import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type ComparedOffer,
  createBudget,
  type Msat,
  PaidNotDeliveredError,
  PriceAboveCapError,
  satsToMsat,
} from '@l402kit/core';
import { type BaseMessage, ToolMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { afterEach, describe, expect, it } from 'vitest';
import { formatLedger } from './ledger.js';
import { OfflineAnalystModel } from './offline-analyst-model.js';
import {
  DEFAULT_QUESTION,
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

/** The offline analyst, with a hook that runs once, after it read the sellers' quotes. */
class AnalystWithHook extends OfflineAnalystModel {
  private done = false;
  constructor(private readonly afterComparing: () => void | Promise<void>) {
    super();
  }
  override async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const compared = messages.some(
      (message) => ToolMessage.isInstance(message) && message.name === 'compare_offers',
    );
    if (compared && !this.done) {
      this.done = true;
      await this.afterComparing();
    }
    return super._generate(messages);
  }
}

const reviewDesk = (market: Market) => market.sellers.find((each) => each.name === 'Review Desk')!;

describe('a seller whose price rises between quote and purchase', () => {
  it('is not paid above the compared price (offer market)', async () => {
    const market = await open();
    const run = createBudget({ name: 'run', maxSats: 60 });
    const { best } = await market.offers.compare(
      { query: DEFAULT_QUESTION, kind: 'research-report', minQuality: 3 },
      { budget: run },
    );
    expect(best?.seller).toBe('Review Desk');
    const from = market.network.payments.length;
    const analystBefore = market.analystNode.balanceMsat;

    reviewDesk(market).reprice(30);
    const refused = await market.offers.buy(best!, { budget: run }).catch((error) => error);

    expect(refused).toBeInstanceOf(PriceAboveCapError);
    expect(refused.paid).toBe(false);
    expect(spentBy(market, from, 'analyst')).toBe(0n);
    expect(market.analystNode.balanceMsat).toBe(analystBefore);
    expect((await run.status()).spentMsat).toBe(0n);
    // The seller now asks more than the analyst agreed to: its new 402 says so.
    const now = await market.paidFetch.quote(best!.url);
    expect(now.priceMsat).toBeGreaterThan(best!.priceMsat);
  });

  it('the analyst agent pays nothing to it and says it could not buy', async () => {
    const market = await open();
    const totalBefore = total(market);
    const from = market.network.payments.length;
    const model = new AnalystWithHook(() => reviewDesk(market).reprice(30));
    const result = await runAnalyst(market, { env: {}, model, budgetSats: 60, minQuality: 3 });

    expect(result.offers.find((offer) => offer.excluded === undefined)?.seller).toBe('Review Desk');
    expect(spentBy(market, from, 'analyst')).toBe(0n);
    expect(result.analyst.budget.spentMsat).toBe(0n);
    expect(result.sellers.every((seller) => seller.sold.length === 0)).toBe(true);
    expect(result.answer).toMatch(/could not buy a report/);
    expectConserved(market, result, totalBefore);
  });
});

describe('a seller that fails after payment', () => {
  it.each(['work-fails', 'hangs-up'] as const)(
    '(%s): PaidNotDeliveredError with the amount, and the retry with the same token costs nothing',
    async (how) => {
      const market = await open();
      const run = createBudget({ name: 'run', maxSats: 60 });
      const { best } = await market.offers.compare(
        { query: DEFAULT_QUESTION, kind: 'research-report', minQuality: 3 },
        { budget: run },
      );
      const from = market.network.payments.length;
      const analystBefore = market.analystNode.balanceMsat;
      reviewDesk(market).failNext(1, how);

      const failure = await market.offers.buy(best!, { budget: run }).catch((error) => error);
      expect(failure).toBeInstanceOf(PaidNotDeliveredError);
      expect(failure.paid).toBe(true);
      const paid = paymentsSince(market, from).filter((payment) => payment.payer === 'analyst');
      expect(paid).toEqual([
        { payer: 'analyst', payee: 'Review Desk', spentMsat: failure.amountMsat },
      ]);
      // The money is accounted for: the wallet, the run budget and the seller's cap all count it.
      expect(market.analystNode.balanceMsat).toBe(analystBefore - failure.amountMsat);
      expect((await run.status()).spentMsat).toBe(failure.amountMsat);
      expect((await market.offers.sellerBudget(best!.origin, run)!.status()).spentMsat).toBe(
        failure.amountMsat,
      );
      expect(reviewDesk(market).sold).toEqual([]);

      const retry = await market.offers.buy(best!, { budget: run });
      expect(retry.status).toBe(200);
      expect(retry.l402.paid).toBe(false);
      const report = (await retry.json()) as { seller: string; findings: unknown[] };
      expect(report.seller).toBe('Review Desk');
      expect(report.findings).toHaveLength(2);
      expect(spentBy(market, from, 'analyst')).toBe(failure.amountMsat);
      expect((await run.status()).spentMsat).toBe(failure.amountMsat);
      // The seller ran the work, and bought its two sources, once.
      expect(reviewDesk(market).sold).toEqual([DEFAULT_QUESTION]);
      const sources = paymentsSince(market, from).filter((p) => p.payer === 'Review Desk');
      expect(sources).toHaveLength(2);
    },
  );

  it('the analyst agent retries for free and pays once', async () => {
    const market = await open();
    const totalBefore = total(market);
    const from = market.network.payments.length;
    reviewDesk(market).failNext(1, 'hangs-up');
    const steps: string[] = [];
    const result = await runAnalyst(market, {
      env: {},
      onProgress: (step) => {
        if (step.type === 'tool-result') steps.push(step.text);
      },
    });

    expect(steps.some((text) => text.includes('PAID_NOT_DELIVERED'))).toBe(true);
    const bought = paymentsSince(market, from).filter((payment) => payment.payer === 'analyst');
    expect(bought.map((payment) => payment.payee)).toEqual(['Review Desk']);
    expect(result.analyst.budget.spentMsat).toBe(bought[0]!.spentMsat);
    expect(result.answer).toContain('from the report I bought from Review Desk');
    expectConserved(market, result, totalBefore);
  });

  it('a seller that never answers after payment: the analyst paid once, and the ledger shows it', async () => {
    const market = await open();
    const totalBefore = total(market);
    const from = market.network.payments.length;
    reviewDesk(market).failNext(Number.POSITIVE_INFINITY, 'hangs-up');
    const result = await runAnalyst(market, { env: {} });

    const bought = paymentsSince(market, from).filter((payment) => payment.payer === 'analyst');
    expect(bought.map((payment) => payment.payee)).toEqual(['Review Desk']);
    // Counted as spent everywhere, though nothing was delivered.
    expect(result.analyst.budget.spentMsat).toBe(bought[0]!.spentMsat);
    expect(result.analyst.perSeller['Review Desk']?.spentMsat).toBe(bought[0]!.spentMsat);
    const analyst = result.ledger.balances.find((balance) => balance.name === 'analyst')!;
    expect(analyst.changeMsat).toBe(-bought[0]!.spentMsat);
    expect(result.ledger.transfers).toContainEqual(
      expect.objectContaining({ payer: 'analyst', payee: 'Review Desk', payments: 1 }),
    );
    expect(reviewDesk(market).sold).toEqual([]);
    expect(result.answer).toMatch(/could not buy a report/);
    expectConserved(market, result, totalBefore);
  });
});

describe('the demo program (pnpm demo:market)', () => {
  it('runs in its own process and prints the answer and a ledger that sums to zero', async () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--conditions',
        '@l402kit/source',
        '--import',
        'tsx',
        'examples/agent-market/src/main.ts',
        '--',
        '--fail-first-report',
        'Review Desk',
      ],
      { cwd: root, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' } },
    );
    expect(stdout).toContain('PAID_NOT_DELIVERED');
    expect(stdout).toContain('from the report I bought from Review Desk');
    expect(stdout).toMatch(/analyst\s+Review Desk\s+1\s/);
    expect(stdout).toMatch(/^\s+sum\s+0 sats$/m);
    expect(stdout).toMatch(/Review Desk: sold 1 report/);
  }, 60_000);
});

describe('a seller facing unpaid callers', () => {
  const ask = async (url: string, question: string) => {
    const response = await fetch(`${url}/report?q=${encodeURIComponent(question)}`);
    await response.body?.cancel();
    return response.status;
  };

  it('quotes many questions for one search pass, within its quoting allowance', async () => {
    const market = await open();
    const seller = reviewDesk(market);
    const from = market.network.payments.length;
    const answers: number[] = [];
    for (let index = 0; index < 12; index += 1)
      answers.push(await ask(seller.url, `fees ${index}`));

    expect(answers).toEqual(Array(12).fill(402));
    // The search pass it bought for the first quote (10 minutes) served the others.
    expect(paymentsSince(market, from)).toEqual([
      { payer: 'Review Desk', payee: 'research-api', spentMsat: 2_104n },
    ]);
    expect(seller.sold).toEqual([]);
  });

  it('quotes nothing once quoting would cost more than its allowance', async () => {
    const sellers = DEFAULT_SELLERS.map((seller) =>
      seller.name === 'Review Desk' ? { ...seller, quoteBudgetSats: 1 } : seller,
    );
    const market = await open({ sellers });
    const from = market.network.payments.length;

    // 500 price_unavailable: no invoice, so nothing a buyer could pay.
    expect(await ask(reviewDesk(market).url, 'routing fees')).toBe(500);
    expect(spentBy(market, from, 'Review Desk')).toBe(0n);
    expect((await reviewDesk(market).budget.status()).spentMsat).toBe(0n);
  });
});

/**
 * An OpenAI-compatible chat server on loopback that plays a hostile analyst: it ignores the
 * quality it was told, buys every offer listed, buys the same one twice, and tries an id that
 * was never listed. Each turn answers the next scripted tool calls.
 */
async function startHostileModelServer(): Promise<{
  url: string;
  requests: unknown[];
  close(): Promise<void>;
}> {
  const requests: unknown[] = [];
  const turns: Array<Array<{ name: string; args: Record<string, unknown> }> | string> = [
    [{ name: 'compare_offers', args: { need: DEFAULT_QUESTION, minQuality: 1 } }],
    [
      { name: 'buy_offer', args: { offerId: 'offer-1' } },
      { name: 'buy_offer', args: { offerId: 'offer-2' } },
    ],
    [
      { name: 'buy_offer', args: { offerId: 'offer-2' } },
      { name: 'buy_offer', args: { offerId: 'offer-9' } },
    ],
    'Done.',
  ];
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    requests.push({ path: request.url, body: JSON.parse(body || '{}') });
    const turn = turns[Math.min(requests.length - 1, turns.length - 1)]!;
    const message =
      typeof turn === 'string'
        ? { role: 'assistant', content: turn }
        : {
            role: 'assistant',
            content: null,
            tool_calls: turn.map((call, index) => ({
              id: `call_${requests.length}_${index}`,
              type: 'function',
              function: { name: call.name, arguments: JSON.stringify(call.args) },
            })),
          };
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify({
        id: `chatcmpl-${requests.length}`,
        object: 'chat.completion',
        created: 0,
        model: 'hostile',
        choices: [
          { index: 0, message, finish_reason: typeof turn === 'string' ? 'stop' : 'tool_calls' },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('with a real model client (ChatOpenAI against a loopback server)', () => {
  it('a hostile model buys within the run budget and the caps, never twice for one report', async () => {
    const modelServer = await startHostileModelServer();
    try {
      const market = await open({ maxSatsPerSeller: 45 });
      const totalBefore = total(market);
      const from = market.network.payments.length;
      const result = await runAnalyst(market, {
        env: {
          OPENAI_API_KEY: 'test-key',
          OPENAI_BASE_URL: modelServer.url,
          OPENAI_MODEL: 'hostile',
        },
        budgetSats: 60,
      });
      expect(result.modelName).toBe('openai');
      expect(modelServer.requests.length).toBeGreaterThanOrEqual(4);

      const bought = paymentsSince(market, from).filter((payment) => payment.payer === 'analyst');
      // The two offers listed (Deep Press was above the cap per seller, so had no id), once each.
      expect(bought.map((payment) => payment.payee).toSorted()).toEqual([
        'Review Desk',
        'Sat Briefs',
      ]);
      const spent = spentBy(market, from, 'analyst');
      expect(spent).toBeLessThanOrEqual(satsToMsat(60));
      expect(result.analyst.budget.spentMsat).toBe(spent);
      for (const name of sellerNames) {
        expect(result.analyst.perSeller[name]?.spentMsat ?? 0n).toBeLessThanOrEqual(satsToMsat(45));
      }
      expect(result.sellers.map((seller) => seller.sold.length)).toEqual([1, 1, 0]);
      expectConserved(market, result, totalBefore);
      await expectSellerBudgets(market, from, DEFAULT_SELLERS);
    } finally {
      await modelServer.close();
    }
  });
});
