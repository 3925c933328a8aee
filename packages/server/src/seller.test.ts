import { randomBytes } from 'node:crypto';
import {
  createBudget,
  createPaidFetch,
  decodeMacaroon,
  OFFER_CATALOGUE_PATH,
  PaidNotDeliveredError,
  parseL402Challenge,
} from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { createPaywall, createSeller, type SellerOptions, toNodeListener } from './index.js';
import { listen, payChallenge } from './test-helpers.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const ORIGIN = 'http://seller.test';

/**
 * A seller whose quote is what its work will cost it plus a margin, with counters: how often
 * it quoted and how often the work ran (and for which question).
 */
function setupSeller(overrides: Partial<SellerOptions> = {}) {
  const network = createSandboxNetwork();
  const sellerNode = network.createNode({ name: 'seller' });
  const buyer = network.createNode({ name: 'buyer', balanceSats: 10_000 });
  const state = { costSats: 8, marginSats: 2, quotes: 0, work: [] as string[], failNext: 0 };
  const rootKey = new Uint8Array(randomBytes(32));
  const seller = createSeller({
    wallet: sellerNode.wallet,
    rootKey,
    serviceName: 'reports',
    quote: () => {
      state.quotes += 1;
      return state.costSats + state.marginSats;
    },
    work: (request) => {
      const question = new URL(request.url).searchParams.get('q') ?? '';
      state.work.push(question);
      if (state.failNext > 0) {
        state.failNext -= 1;
        throw new Error('the sources were down');
      }
      return Response.json({ report: `About ${question}` });
    },
    ...overrides,
  });
  const ask = (question: string, authorization?: string) =>
    seller.handler(
      new Request(`${ORIGIN}/report?q=${encodeURIComponent(question)}`, {
        headers: authorization ? { authorization } : {},
      }),
    );
  return { network, sellerNode, buyer, state, seller, rootKey, ask };
}

describe('createSeller: quote first, work after payment', () => {
  it('quotes without working, and keeps the quote for the same request', async () => {
    const { state, ask } = setupSeller();
    const first = await ask('fees');
    expect(first.status).toBe(402);
    expect(await first.json()).toMatchObject({ price_sats: 10 });
    state.costSats = 50; // its costs rise: a quote already made holds
    const second = await ask('fees');
    expect(await second.json()).toMatchObject({ price_sats: 10 });
    expect(state.quotes).toBe(1);
    expect(state.work).toEqual([]);
    // Another request is quoted on its own, at today's costs.
    expect(await (await ask('routing')).json()).toMatchObject({ price_sats: 52 });
  });

  it('runs the work once per token: a repeated request gets the kept result, not a new charge', async () => {
    const { state, ask, buyer } = setupSeller();
    const { authorization } = await payChallenge(buyer, await ask('fees'));
    const paid = await ask('fees', authorization);
    expect(paid.status).toBe(200);
    expect(await paid.json()).toEqual({ report: 'About fees' });
    const again = await ask('fees', authorization);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ report: 'About fees' });
    expect(state.work).toEqual(['fees']);
  });

  it('runs the work once for concurrent requests with one token', async () => {
    const { state, ask, buyer } = setupSeller();
    const { authorization } = await payChallenge(buyer, await ask('fees'));
    const answers = await Promise.all([1, 2, 3].map(() => ask('fees', authorization)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(await Promise.all(answers.map((answer) => answer.json()))).toEqual(
      Array(3).fill({ report: 'About fees' }),
    );
    expect(state.work).toEqual(['fees']);
  });

  it('binds the token to its request: another question at the same price gets a fresh 402', async () => {
    const { state, ask, buyer } = setupSeller();
    const { authorization, challenge } = await payChallenge(buyer, await ask('fees'));
    expect(decodeMacaroon(challenge.macaroon).caveats).toEqual(
      expect.arrayContaining([
        'reports_path=/report',
        expect.stringMatching(/^reports_request=[0-9a-f]{64}$/),
      ]),
    );
    const other = await ask('routing', authorization);
    expect(other.status).toBe(402);
    expect(state.work).toEqual([]);
  });

  it('keeps opening a paid request at its price after the quote is forgotten and costs rose', async () => {
    const { state, ask, buyer } = setupSeller({ maxQuotes: 1 });
    const { authorization } = await payChallenge(buyer, await ask('fees'));
    await ask('routing'); // pushes the 'fees' quote out
    state.costSats = 500;
    const paid = await ask('fees', authorization);
    expect(paid.status).toBe(200);
    expect(state.work).toEqual(['fees']);
    // Without the token the same request is quoted afresh.
    expect(await (await ask('fees')).json()).toMatchObject({ price_sats: 502 });
  });

  it('answers a failure after payment with a 503 that says the token stays valid; the retry is free', async () => {
    const { state, ask, buyer, network } = setupSeller();
    state.failNext = 1;
    const before = buyer.balanceMsat;
    const { authorization } = await payChallenge(buyer, await ask('fees'));
    const failed = await ask('fees', authorization);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
    const body = await failed.json();
    expect(body).toMatchObject({ error: 'work_failed', token_valid: true });
    expect(body.message).toContain('costs nothing');
    const retried = await ask('fees', authorization);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ report: 'About fees' });
    expect(state.work).toEqual(['fees', 'fees']);
    expect(before - buyer.balanceMsat).toBe(10_000n);
    expect(network.payments.filter((payment) => payment.state === 'succeeded')).toHaveLength(1);
  });

  it('turns a 5xx from the work into the same 503, and does not keep it', async () => {
    let status = 502;
    const { ask, buyer } = setupSeller({
      work: () => new Response('upstream broke', { status }),
    });
    const { authorization } = await payChallenge(buyer, await ask('fees'));
    const failed = await ask('fees', authorization);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ token_valid: true });
    status = 200;
    expect((await ask('fees', authorization)).status).toBe(200);
  });

  it('does not work for a token of a plain paywall with the same key and service', async () => {
    const { ask, state, rootKey, sellerNode, buyer } = setupSeller();
    // No request caveat: it was not bought for any one request.
    const plain = createPaywall({
      wallet: sellerNode.wallet,
      rootKey,
      serviceName: 'reports',
      price: 1_000,
    });
    const challenged = await plain.handler(() => new Response('ok'))(
      new Request(`${ORIGIN}/report?q=fees`),
    );
    const { authorization } = await payChallenge(buyer, challenged);
    expect((await ask('fees', authorization)).status).toBe(402);
    expect(state.work).toEqual([]);
  });

  it('keys a POST by its body: a token for one body does not open another', async () => {
    const { buyer, seller, state } = setupSeller({
      work: async (request) => {
        state.work.push(await request.text());
        return Response.json({ ok: true });
      },
    });
    const post = (body: string, authorization?: string) =>
      seller.handler(
        new Request(`${ORIGIN}/report`, {
          method: 'POST',
          body,
          headers: authorization ? { authorization } : {},
        }),
      );
    const { authorization } = await payChallenge(buyer, await post('{"q":"fees"}'));
    expect((await post('{"q":"routing"}', authorization)).status).toBe(402);
    expect((await post('{"q":"fees"}', authorization)).status).toBe(200);
    // The work still got the whole body.
    expect(state.work).toEqual(['{"q":"fees"}']);
  });

  it('serves its catalogue free, and refuses one buyers would not accept', async () => {
    const { seller } = setupSeller({
      catalogue: {
        seller: { name: 'Deep Reports' },
        offers: [{ id: 'report', title: 'A report', url: '/report?q={query}', quality: 4 }],
      },
    });
    const response = await seller.handler(new Request(`${ORIGIN}${OFFER_CATALOGUE_PATH}`));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      l402_catalogue: 1,
      seller: { name: 'Deep Reports' },
      offers: [{ id: 'report', title: 'A report', url: '/report?q={query}', quality: 4 }],
    });
    expect(() =>
      setupSeller({
        catalogue: {
          seller: { name: 'x' },
          offers: [{ id: 'report', title: 'A', url: '/r', quality: 9 }],
        },
      }),
    ).toThrow(/catalogue.*offers\.0\.quality/);
  });
});

describe('createSeller over HTTP with a paying client', () => {
  it('a failure after payment is PaidNotDeliveredError for the buyer, and the retry costs nothing', async () => {
    const { seller, state, buyer } = setupSeller();
    state.failNext = 1;
    const server = await listen(toNodeListener((request) => seller.handler(request)));
    servers.push(server);
    const budget = createBudget({ name: 'buyer', maxSats: 100 });
    const paidFetch = createPaidFetch({
      wallet: buyer.wallet,
      budget,
      policy: { allowPrivateNetwork: true, requireHttps: false },
    });
    const url = `${server.url}/report?q=fees`;
    const before = buyer.balanceMsat;
    const failure = await paidFetch(url).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PaidNotDeliveredError);
    expect(failure).toMatchObject({ paid: true, status: 503 });
    const paidOnce = before - buyer.balanceMsat;
    expect(paidOnce).toBeGreaterThanOrEqual(10_000n);

    const retried = await paidFetch(url);
    expect(retried.status).toBe(200);
    expect(retried.l402).toMatchObject({ paid: false, usedCachedToken: true, amountMsat: 0n });
    expect(await retried.json()).toEqual({ report: 'About fees' });
    expect(before - buyer.balanceMsat).toBe(paidOnce);
    expect((await budget.status()).spentMsat).toBe(paidOnce);
  });

  it('sends a 402 the core parser reads through the Node listener', async () => {
    const { seller } = setupSeller();
    const server = await listen(toNodeListener((request) => seller.handler(request)));
    servers.push(server);
    const response = await fetch(`${server.url}/report?q=fees`);
    expect(response.status).toBe(402);
    expect(parseL402Challenge(response.headers.get('www-authenticate')).scheme).toBe('L402');
    expect((await fetch(`${server.url}//report`)).status).toBe(400);
  });
});
