import { createBudget, createL402Tools, createPaidFetch, withBudget } from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
let api: PaidApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

function toolsFor(
  paidApi: PaidApi,
  options: { maxSats?: number; enablePayInvoice?: boolean } = {},
) {
  const budget = createBudget({ name: 'shared', maxSats: options.maxSats ?? 1_000 });
  const paidFetch = createPaidFetch({
    wallet: paidApi.payer.wallet,
    budget,
    policy: loopbackPolicy,
  });
  const tools = Object.fromEntries(
    createL402Tools({ paidFetch, enablePayInvoice: options.enablePayInvoice }).map((tool) => [
      tool.name,
      tool,
    ]),
  );
  return { budget, paidFetch, tools };
}

describe('framework-neutral tool specs', () => {
  it('quote tells the price without paying; fetch pays and returns the content as text', async () => {
    api = await startPaidApi();
    const { tools, budget } = toolsFor(api);
    const quote = await tools.l402_quote!.execute({ url: `${api.url}/doc` });
    // The fee limit (1 sat + 1 %) is known, so the tool says it rather than "a small fee".
    expect(quote).toContain(
      'costs 10 sats, plus a routing fee of at most 1.1 sats: paying reserves 11.1 sats of the budget.',
    );
    expect(api.merchant.balanceMsat).toBe(0n);

    const fetched = await tools.l402_fetch!.execute({ url: `${api.url}/doc` });
    expect(fetched).toMatch(/^HTTP 200/);
    expect(fetched).toContain('Paid 10 sats');
    expect(fetched).toContain('"path":"/doc"');
    expect((await budget.status()).spentMsat).toBe(10_000n);
    expect(api.merchant.balanceMsat).toBe(10_000n);
  });

  it('turns a refusal into text saying nothing was paid, never a throw', async () => {
    api = await startPaidApi();
    const { tools } = toolsFor(api, { maxSats: 5 });
    const result = await tools.l402_fetch!.execute({ url: `${api.url}/doc` });
    expect(result).toContain('BUDGET_EXCEEDED');
    expect(result).toContain('Nothing was paid.');
    expect(api.merchant.balanceMsat).toBe(0n);
  });

  it('a per-call maxSats only lowers the cap', async () => {
    api = await startPaidApi();
    const { tools } = toolsFor(api);
    const result = await tools.l402_fetch!.execute({ url: `${api.url}/doc`, maxSats: 5 });
    expect(result).toContain('PRICE_ABOVE_CAP');
    expect(api.merchant.balanceMsat).toBe(0n);
  });

  it('charges each concurrent run to its own run budget', async () => {
    api = await startPaidApi();
    const { tools, budget } = toolsFor(api);
    const runA = budget.child({ name: 'run A', maxSats: 25 });
    const runB = budget.child({ name: 'run B', maxSats: 15 });
    const buy = (path: string) => tools.l402_fetch!.execute({ url: `${api!.url}${path}` });
    const [a, b] = await Promise.all([
      withBudget(runA, () => Promise.all([buy('/a1'), buy('/a2'), buy('/a3')])),
      withBudget(runB, () => Promise.all([buy('/b1'), buy('/b2')])),
    ]);
    expect(a.filter((text) => text.startsWith('HTTP 200'))).toHaveLength(2);
    expect(b.filter((text) => text.startsWith('HTTP 200'))).toHaveLength(1);
    expect((await runA.status()).spentMsat).toBe(20_000n);
    expect((await runB.status()).spentMsat).toBe(10_000n);
    expect((await budget.status()).spentMsat).toBe(30_000n);
  });

  it('pay_invoice is off unless enabled, and pays within the budget when it is', async () => {
    api = await startPaidApi();
    expect(toolsFor(api).tools.pay_invoice).toBeUndefined();
    const { tools, budget } = toolsFor(api, { enablePayInvoice: true, maxSats: 50 });
    const cheap = await api.merchant.createInvoice({ amountSats: 30 });
    const dear = await api.merchant.createInvoice({ amountSats: 30 });
    expect(await tools.pay_invoice!.execute({ invoice: cheap.invoice })).toContain('Paid 30 sats');
    expect(await tools.pay_invoice!.execute({ invoice: dear.invoice })).toContain(
      'BUDGET_EXCEEDED',
    );
    expect((await budget.status()).spentMsat).toBe(30_000n);
  });
});

describe('budget_status', () => {
  it("adds the wallet's own limit when the wallet has one (NWC get_budget)", async () => {
    api = await startPaidApi();
    const budget = createBudget({ name: 'shared', maxSats: 100 });
    const base = api.payer.wallet;
    const wallet = Object.assign(Object.create(base), {
      getBudget: async () => ({
        usedMsat: 2_000n,
        totalMsat: 50_000n,
        renewsAt: new Date('2026-12-01T00:00:00Z'),
      }),
    }) as typeof base;
    const paidFetch = createPaidFetch({ wallet, budget, policy: loopbackPolicy });
    const status = createL402Tools({ paidFetch }).find((tool) => tool.name === 'budget_status')!;
    const text = await status.execute({});
    expect(text).toContain('100 sats left of 100 sats');
    expect(text).toContain('Wallet-side limit: 2 sats used of 50 sats, renews 2026-12-01');

    const plain = createL402Tools({
      paidFetch: createPaidFetch({ wallet: base, budget, policy: loopbackPolicy }),
    }).find((tool) => tool.name === 'budget_status')!;
    expect(await plain.execute({})).not.toContain('Wallet-side');
  });
});
