import { createBudget, createPaidFetch, formatCredential } from '@l402kit/core';
import { walletFromUrl } from '@l402kit/wallets';
import { afterEach, describe, expect, it } from 'vitest';
import { articles, datasets } from './documents.js';
import { type ResearchSandbox, startResearchSandbox } from './research-sandbox.js';
import type { SearchResult } from './search.js';

const loopback = { allowPrivateNetwork: true, requireHttps: false };
let sandbox: ResearchSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

describe('paid research API', () => {
  it('sells a search pass, then articles at their own prices, paid over L402', async () => {
    sandbox = await startResearchSandbox({ balanceSats: 1_000 });
    const paidFetch = createPaidFetch({
      wallet: sandbox.buyer.wallet,
      budget: createBudget({ maxSats: 100 }),
      policy: loopback,
    });
    const searched = await paidFetch(`${sandbox.api.url}/v1/search?q=L402+macaroon+invoice`);
    expect(searched.status).toBe(200);
    expect(searched.l402.amountMsat).toBe(2_000n);
    const { results } = (await searched.json()) as { results: (SearchResult & { url: string })[] };
    expect(results.length).toBeGreaterThan(2);
    const providers = new Set(results.map((result) => result.provider));
    expect(providers.size).toBeGreaterThan(1);
    // Competing providers for one topic, at different prices.
    const l402 = results.filter((result) => result.topic === 'l402' && result.kind === 'article');
    expect(new Set(l402.map((result) => result.priceSats)).size).toBeGreaterThan(1);

    const chosen = l402[0]!;
    const quote = await paidFetch.quote(chosen.url);
    expect(quote.priceMsat).toBe(BigInt(chosen.priceSats) * 1000n);
    expect(quote.description).toContain(chosen.title);

    const bought = await paidFetch(chosen.url);
    const article = (await bought.json()) as { body: string };
    expect(article.body).toBe(articles.find((each) => each.id === chosen.id)!.body);
    expect(bought.l402.amountMsat).toBe(BigInt(chosen.priceSats) * 1000n);
    expect(sandbox.seller.balanceMsat).toBe(2_000n + BigInt(chosen.priceSats) * 1000n);
    expect(sandbox.api.delivered).toEqual(['/v1/search', new URL(chosen.url).pathname]);
  });

  it('binds each token to its path: the search token does not open an article', async () => {
    sandbox = await startResearchSandbox();
    const paidFetch = createPaidFetch({ wallet: sandbox.buyer.wallet, policy: loopback });
    await paidFetch(`${sandbox.api.url}/v1/search?q=bitcoin`);
    const [token] = await paidFetch.tokenStore.list();
    const article = await fetch(`${sandbox.api.url}/v1/articles/${articles[0]!.id}`, {
      headers: { authorization: formatCredential({ ...token!, preimage: token!.preimage! }) },
    });
    expect(article.status).toBe(402);
    // A different query reuses the search pass without paying again.
    const again = await paidFetch(`${sandbox.api.url}/v1/search?q=routing+fees`);
    expect(again.l402.usedCachedToken).toBe(true);
  });

  it('prices datasets above a typical run budget, and the budget refuses them', async () => {
    sandbox = await startResearchSandbox();
    const paidFetch = createPaidFetch({
      wallet: sandbox.buyer.wallet,
      budget: createBudget({ maxSats: 200 }),
      policy: loopback,
    });
    const dataset = datasets[0]!;
    const quote = await paidFetch.quote(`${sandbox.api.url}/v1/datasets/${dataset.id}`);
    expect(quote.priceSats).toBe(dataset.priceSats);
    expect(dataset.priceSats).toBeGreaterThan(200);
    await expect(paidFetch(`${sandbox.api.url}/v1/datasets/${dataset.id}`)).rejects.toMatchObject({
      code: 'BUDGET_EXCEEDED',
      paid: false,
    });
    expect(sandbox.seller.balanceMsat).toBe(0n);
  });

  it('serves its catalog free and answers unknown paths with a free 404', async () => {
    sandbox = await startResearchSandbox();
    const front = await fetch(sandbox.api.url);
    expect(front.status).toBe(200);
    expect(await front.json()).toMatchObject({ searchUrl: `${sandbox.api.url}/v1/search?q=` });
    expect((await fetch(`${sandbox.api.url}/v1/articles/nope`)).status).toBe(404);
    expect((await fetch(`${sandbox.api.url}/v1/search`, { method: 'POST' })).status).toBe(405);
  });

  it('sends the LSAT and L402 challenges as two header lines, as aperture does', async () => {
    sandbox = await startResearchSandbox();
    const { request } = await import('node:http');
    const rawHeaders = await new Promise<string[]>((resolve, reject) => {
      request(`${sandbox!.api.url}/v1/search?q=x`, (response) => {
        response.resume();
        resolve(response.rawHeaders);
      })
        .on('error', reject)
        .end();
    });
    const challenges = rawHeaders.filter(
      (_, index) => index % 2 === 1 && rawHeaders[index - 1]!.toLowerCase() === 'www-authenticate',
    );
    expect(challenges.map((line) => line.split(' ')[0])).toEqual(['LSAT', 'L402']);
  });

  it('serves the buyer wallet over an LNbits-compatible API that l402kit can pay with', async () => {
    sandbox = await startResearchSandbox({ balanceSats: 500, serveWallet: true });
    const wallet = walletFromUrl(sandbox.walletServer!.walletUrl);
    expect(await wallet.getBalance!()).toEqual({ balanceMsat: 500_000n });
    const paidFetch = createPaidFetch({ wallet, policy: loopback });
    const article = articles.find((each) => each.priceSats === 9)!;
    const response = await paidFetch(`${sandbox.api.url}/v1/articles/${article.id}`);
    expect(response.status).toBe(200);
    const spent = 500_000n - sandbox.buyer.balanceMsat;
    expect(spent).toBe(response.l402.amountMsat + response.l402.feeMsat);
    expect(response.l402.feeMsat).toBeGreaterThan(0n);
    const wrongKey = walletFromUrl(
      sandbox.walletServer!.walletUrl.replace(/lnbits:\/\/\w+@/, 'lnbits://wrong@'),
    );
    await expect(wrongKey.getBalance!()).rejects.toMatchObject({ code: 'WALLET_UNAUTHORIZED' });
    await wallet.close?.();
  });
});
