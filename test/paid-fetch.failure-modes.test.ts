// One describe per failure mode of DESIGN.md §4, each against real loopback HTTP servers:
// the @l402kit/server paywall where it fits, hand-written servers sending crafted
// challenges where a misbehaving server is needed. Every test fails if the client has the bug.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AmountlessInvoiceError,
  ApprovalDeniedError,
  BodyNotReplayableError,
  BudgetExceededError,
  createBudget,
  createPaidFetch,
  InvoiceExpiredError,
  InvoiceMismatchError,
  MemoryTokenStore,
  NetworkMismatchError,
  NoRouteError,
  PaidNotDeliveredError,
  PaymentLoopError,
  PaymentOutcomeUnknownError,
  PolicyDeniedError,
  PreimageMismatchError,
  PriceAboveCapError,
  RequestFailedError,
} from '@l402kit/core';
import { createSandboxNetwork, type SandboxNode } from '@l402kit/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import {
  challengeHeader,
  paymentRequired,
  type RecordingServer,
  serveRecording,
  signInvoice,
} from './support/crafted-challenge.js';
import { type PaidApi, type PaidApiOptions, startPaidApi } from './support/paid-api.js';
import { spyWallet } from './support/spy-wallet.js';
import { rejection, succeeded } from './support/outcomes.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function paidApi(options?: PaidApiOptions): Promise<PaidApi> {
  const api = await startPaidApi(options);
  closers.push(api.close);
  return api;
}

async function crafted(handler: Parameters<typeof serveRecording>[0]): Promise<RecordingServer> {
  const server = await serveRecording(handler);
  closers.push(server.close);
  return server;
}

/** A sandbox network with a funded payer and a merchant whose invoices can really be paid. */
function sandbox() {
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 100_000 });
  return { network, merchant, payer };
}

describe('failure mode 1: cap bypass by odd amounts', () => {
  // Whole-BTC (no multiplier), signet (lntbs) and pico-BTC (msat precision) invoices: a
  // regex-reading client skips its cap on them. The wallet declares no network, so only the
  // amount can stop the payment.
  const offers = {
    '/whole-btc': signInvoice({ amountMsat: 100_000_000_000n }),
    '/signet': signInvoice({ network: 'signet', amountMsat: 50_000_000n }),
    '/msat': signInvoice({ amountMsat: 1_000_001n }),
  };

  async function offerServer() {
    return crafted((request) => {
      const offer = offers[new URL(request.url).pathname as keyof typeof offers];
      return paymentRequired(challengeHeader(offer));
    });
  }

  it('reads every spelling exactly (the invoices really are what the test says)', async () => {
    expect(offers['/whole-btc'].invoice).toMatch(/^lnbcrt11/);
    expect(offers['/signet'].invoice).toMatch(/^lntbs/);
    expect(offers['/msat'].invoice).toMatch(/^lnbcrt\d+p1/);
    const server = await offerServer();
    const { payer } = sandbox();
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: loopbackPolicy });
    expect((await paidFetch.quote(`${server.url}/whole-btc`)).priceMsat).toBe(100_000_000_000n);
    expect((await paidFetch.quote(`${server.url}/signet`)).priceMsat).toBe(50_000_000n);
    expect((await paidFetch.quote(`${server.url}/msat`)).priceMsat).toBe(1_000_001n);
  });

  it('refuses each above the policy cap of 1,000 sats before the wallet is called', async () => {
    const server = await offerServer();
    const wallet = spyWallet(sandbox().payer.wallet, { network: null });
    const paidFetch = createPaidFetch({
      wallet,
      budget: createBudget({ maxSats: 1_000_000_000 }),
      policy: { ...loopbackPolicy, maxSatsPerRequest: 1_000 },
    });
    for (const path of Object.keys(offers)) {
      const error = await rejection(paidFetch(`${server.url}${path}`));
      expect(error).toBeInstanceOf(PriceAboveCapError);
      expect(error.paid).toBe(false);
    }
    expect(wallet.calls).toHaveLength(0);
  });

  it('refuses each above the budget and above a per-call cap', async () => {
    const server = await offerServer();
    const wallet = spyWallet(sandbox().payer.wallet, { network: null });
    const budget = createBudget({ maxSats: 1_000 });
    const paidFetch = createPaidFetch({ wallet, budget, policy: loopbackPolicy });
    for (const path of Object.keys(offers)) {
      expect(await rejection(paidFetch(`${server.url}${path}`))).toBeInstanceOf(
        BudgetExceededError,
      );
    }
    const roomy = createPaidFetch({
      wallet,
      budget: createBudget({ maxSats: 1_000_000_000 }),
      policy: loopbackPolicy,
    });
    const error = await rejection(roomy(`${server.url}/msat`, { maxSats: 1_000 }));
    expect(error).toBeInstanceOf(PriceAboveCapError);
    expect(wallet.calls).toHaveLength(0);
    expect(await budget.status()).toMatchObject({
      spentMsat: 0n,
      reservedMsat: 0n,
      pendingMsat: 0n,
    });
  });
});

describe('failure mode 2: msat counted as 0 or costs rounded down', () => {
  const noFeeReserve = { baseMsat: 0n, ppm: 0 };

  it('counts 1.5-sat payments exactly, so the third does not fit a 4-sat budget', async () => {
    // Rounding 1.5 sats down to 1 would leave room for a third payment.
    const api = await paidApi({ paywall: { price: 1_500n } });
    const budget = createBudget({ maxMsat: 4_000n });
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget,
      policy: loopbackPolicy,
      feeLimit: noFeeReserve,
    });
    expect((await paidFetch(`${api.url}/a`)).l402.amountMsat).toBe(1_500n);
    expect((await paidFetch(`${api.url}/b`)).status).toBe(200);
    expect(await rejection(paidFetch(`${api.url}/c`))).toBeInstanceOf(BudgetExceededError);
    expect((await budget.status()).spentMsat).toBe(3_000n);
    expect(api.payer.balanceMsat).toBe(100_000_000n - 3_000n);
    expect(succeeded(api.network)).toBe(2);
  });

  it('refuses a 1-msat invoice under a budget of 0', async () => {
    const api = await paidApi({ paywall: { price: 1n } });
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget: createBudget({ maxMsat: 0n }),
      policy: loopbackPolicy,
      feeLimit: noFeeReserve,
    });
    expect(await rejection(paidFetch(`${api.url}/tiny`))).toBeInstanceOf(BudgetExceededError);
    expect(api.network.payments).toHaveLength(0);
  });
});

describe('failure mode 3: fees ignored by the budget', () => {
  // 10 sats with a network fee of 1 sat; the default fee limit reserves 1 sat + 1 % = 1,100 msat.
  const network = { feeBaseMsat: 1_000n };

  it('refuses when the amount fits but amount + maximum fee does not', async () => {
    const api = await paidApi({ network });
    const budget = createBudget({ maxMsat: 11_099n });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, budget, policy: loopbackPolicy });
    expect(await rejection(paidFetch(`${api.url}/a`))).toBeInstanceOf(BudgetExceededError);
    expect(api.network.payments).toHaveLength(0);
  });

  it('pays when amount + maximum fee fits, counting the actual fee as spent', async () => {
    const api = await paidApi({ network });
    const wallet = spyWallet(api.payer.wallet);
    const budget = createBudget({ maxMsat: 11_100n });
    const paidFetch = createPaidFetch({ wallet, budget, policy: loopbackPolicy });
    const response = await paidFetch(`${api.url}/a`);
    expect(response.l402).toMatchObject({ amountMsat: 10_000n, feeMsat: 1_000n });
    expect(wallet.calls[0]?.maxFeeMsat).toBe(1_100n);
    expect(await budget.status()).toMatchObject({ spentMsat: 11_000n, reservedMsat: 0n });
    expect(api.payer.balanceMsat).toBe(100_000_000n - 11_000n);
  });

  it('gives the wallet the fee limit, so a costlier route is refused and nothing is spent', async () => {
    const api = await paidApi({ network });
    const budget = createBudget({ maxSats: 100 });
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget,
      policy: loopbackPolicy,
      feeLimit: { baseMsat: 999n, ppm: 0 },
    });
    const error = await rejection(paidFetch(`${api.url}/a`));
    expect(error).toBeInstanceOf(NoRouteError);
    expect(error.paid).toBe(false);
    expect(await budget.status()).toMatchObject({
      spentMsat: 0n,
      reservedMsat: 0n,
      pendingMsat: 0n,
    });
    expect(succeeded(api.network)).toBe(0);
  });
});

describe('failure mode 4: concurrent calls pay N times', () => {
  it('100 concurrent calls to one unpaid resource make exactly 1 payment', async () => {
    // Payments take a moment, as on a real network, so the callers overlap with it.
    const api = await paidApi({ network: { latencyMs: 20 } });
    const budget = createBudget({ maxSats: 10_000 });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, budget, policy: loopbackPolicy });
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => paidFetch(`${api.url}/popular`)),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(responses.filter((response) => response.l402.paid)).toHaveLength(1);
    expect(api.network.payments).toHaveLength(1);
    expect((await budget.status()).spentMsat).toBe(10_000n);
    expect(api.delivered.get('/popular')).toBe(100);
  });
});

describe('failure mode 5: pending payments forgotten', () => {
  it('keeps a timed-out payment counted and does not pay again until the wallet settles it', async () => {
    const api = await paidApi();
    api.payer.injectFault({ kind: 'hang-then-settle' });
    const budget = createBudget({ maxSats: 1_000 });
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget,
      policy: loopbackPolicy,
      paymentTimeoutMs: 20,
    });
    const first = await rejection(paidFetch(`${api.url}/slow`));
    expect(first).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(first.paid).toBe('unknown');
    expect((await budget.status()).pendingMsat).toBe(11_100n);

    // Still pending: the next call asks the wallet, does not pay, and stays unknown.
    expect(await rejection(paidFetch(`${api.url}/slow`))).toBeInstanceOf(
      PaymentOutcomeUnknownError,
    );
    expect(api.network.payments).toHaveLength(1);

    api.network.settlePending();
    const response = await paidFetch(`${api.url}/slow`);
    expect(response.status).toBe(200);
    expect(response.l402.paid).toBe(false);
    expect(api.network.payments).toHaveLength(1);
    expect(await budget.status()).toMatchObject({ spentMsat: 10_000n, pendingMsat: 0n });
  });

  it('releases a timed-out payment only when the wallet says it failed, then buys once', async () => {
    const api = await paidApi();
    api.payer.injectFault({ kind: 'hang-then-fail' });
    const budget = createBudget({ maxSats: 1_000 });
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget,
      policy: loopbackPolicy,
      paymentTimeoutMs: 20,
    });
    expect(await rejection(paidFetch(`${api.url}/slow`))).toBeInstanceOf(
      PaymentOutcomeUnknownError,
    );
    expect(await rejection(paidFetch(`${api.url}/slow`))).toBeInstanceOf(
      PaymentOutcomeUnknownError,
    );
    expect((await budget.status()).pendingMsat).toBe(11_100n);
    api.network.failPending();
    const response = await paidFetch(`${api.url}/slow`);
    expect(response.l402.paid).toBe(true);
    expect(api.network.payments.map((payment) => payment.state)).toEqual(['failed', 'succeeded']);
    expect(await budget.status()).toMatchObject({ spentMsat: 10_000n, pendingMsat: 0n });
  });

  it('resolvePending() settles the books and stores the token without a request', async () => {
    const api = await paidApi();
    api.payer.injectFault({ kind: 'hang-then-settle' });
    const budget = createBudget({ maxSats: 1_000 });
    const tokenStore = new MemoryTokenStore();
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget,
      tokenStore,
      policy: loopbackPolicy,
      paymentTimeoutMs: 20,
    });
    await rejection(paidFetch(`${api.url}/slow`));
    expect(await paidFetch.resolvePending()).toMatchObject([{ outcome: 'pending' }]);
    api.network.settlePending();
    expect(await paidFetch.resolvePending()).toMatchObject([
      { outcome: 'paid', amountMsat: 10_000n },
    ]);
    expect(await budget.status()).toMatchObject({ spentMsat: 10_000n, pendingMsat: 0n });
    expect((await tokenStore.list()).map((token) => token.state)).toEqual(['paid']);
  });
});

describe('failure mode 6: payment loops', () => {
  /** Answers every request, paid or not, with a fresh payable challenge. */
  async function forever402(merchant: SandboxNode) {
    return crafted(() => {
      const invoice = merchant.createInvoice({ amountSats: 10 });
      return paymentRequired(challengeHeader(invoice));
    });
  }

  it('pays once per call when the server answers 402 forever, then stops with a clear error', async () => {
    const { network, merchant, payer } = sandbox();
    const server = await forever402(merchant);
    const paidFetch = createPaidFetch({
      wallet: payer.wallet,
      budget: createBudget({ maxSats: 1_000 }),
      policy: loopbackPolicy,
    });
    const error = await rejection(paidFetch(`${server.url}/loop`));
    expect(error).toBeInstanceOf(PaymentLoopError);
    expect(error).toMatchObject({ paid: true, amountMsat: 10_000n });
    expect(succeeded(network)).toBe(1);
    expect(server.requests).toHaveLength(2);

    // The rejected token is dropped, and the loop remembered: a new call pays nothing (item 9).
    const again = await rejection(paidFetch(`${server.url}/loop`));
    expect(again.code).toBe('PAYMENT_LOOP_REFUSED');
    expect(again.paid).toBe(false);
    expect(succeeded(network)).toBe(1);
  });

  it('does not pay a second time when the paid answer redirects to another 402', async () => {
    const { network, merchant, payer } = sandbox();
    const server = await crafted((_request, recorded) => {
      if (recorded.path === '/start' && recorded.authorization) {
        return new Response(null, { status: 302, headers: { location: '/next' } });
      }
      return paymentRequired(challengeHeader(merchant.createInvoice({ amountSats: 10 })));
    });
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${server.url}/start`));
    expect(error).toBeInstanceOf(PaymentLoopError);
    expect(error.paid).toBe(true);
    expect(succeeded(network)).toBe(1);
  });
});

describe('failure mode 7: body lost on retry', () => {
  const echo = async (request: Request) =>
    Response.json({
      method: request.method,
      body: await request.text(),
      custom: request.headers.get('x-custom'),
      type: request.headers.get('content-type'),
    });

  it('replays method, headers and body on the paid retry', async () => {
    const api = await paidApi({ handler: echo });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    const response = await paidFetch(`${api.url}/submit`, {
      method: 'PUT',
      headers: { 'x-custom': 'kept', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'lightning' }),
    });
    expect(response.l402.paid).toBe(true);
    expect(await response.json()).toEqual({
      method: 'PUT',
      body: '{"query":"lightning"}',
      custom: 'kept',
      type: 'application/json',
    });
  });

  it('buffers a stream body so it can be replayed', async () => {
    const api = await paidApi({ handler: echo });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('part one, '));
        controller.enqueue(encoder.encode('part two'));
        controller.close();
      },
    });
    const response = await paidFetch(`${api.url}/upload`, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(await response.json()).toMatchObject({ method: 'POST', body: 'part one, part two' });
  });

  it('refuses a stream larger than the replay limit before sending or paying anything', async () => {
    const api = await paidApi({ handler: echo });
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      policy: loopbackPolicy,
      maxReplayBodyBytes: 1_000,
    });
    let chunks = 4;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (chunks-- === 0) controller.close();
        else controller.enqueue(new Uint8Array(600));
      },
    });
    const error = await rejection(
      paidFetch(`${api.url}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit),
    );
    expect(error).toBeInstanceOf(BodyNotReplayableError);
    expect(error.paid).toBe(false);
    expect(api.requests).toHaveLength(0);
    expect(api.network.payments).toHaveLength(0);
  });
});

describe('failure mode 8: token leakage', () => {
  it('never sends a token to another path, another method or another port', async () => {
    const api = await paidApi();
    const other = await paidApi();
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    await paidFetch(`${api.url}/a`);
    const sent = api.requests.length;
    await rejection(paidFetch(`${api.url}/b`, { maxSats: 1 }));
    await rejection(paidFetch(`${api.url}/a`, { method: 'POST', maxSats: 1 }));
    await rejection(paidFetch(`${other.url}/a`, { maxSats: 1 }));
    const later = [...api.requests.slice(sent), ...other.requests];
    expect(later.map((request) => request.authorization)).toEqual([null, null, null]);
  });

  it('does not carry the token (or the caller’s own credential) across a redirect to another origin', async () => {
    const elsewhere = await crafted(() => new Response('landed'));
    const api = await paidApi({
      handler: () => Response.redirect(`${elsewhere.url}/landing`, 302),
    });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    const response = await paidFetch(`${api.url}/go`, {
      headers: { authorization: 'Bearer caller-secret' },
    });
    expect(await response.text()).toBe('landed');
    expect(response.l402.paid).toBe(true);
    expect(elsewhere.requests).toHaveLength(1);
    expect(elsewhere.requests[0]?.authorization).toBeNull();
  });

  describe('https to http', () => {
    // Real HTTP on loopback behind a public-looking name: `https://shop.example` and
    // `http://shop.example` reach the same server, so only the client keeps them apart.
    async function shop() {
      const api = await paidApi({
        handler: (request) =>
          new URL(request.url).pathname === '/downgrade'
            ? Response.redirect('http://shop.example/downgrade', 302)
            : new Response('content'),
      });
      const loopbackFetch: typeof fetch = (input, init) => {
        const request = new Request(input, init);
        const target = request.url.replace(/^https?:\/\/shop\.example/, api.url);
        return fetch(new Request(target, request));
      };
      return { api, loopbackFetch };
    }
    const publicDns = { resolveHost: async () => ['93.184.215.14'] };

    it('keeps a token bought over https from a plain http request to the same host', async () => {
      const { api, loopbackFetch } = await shop();
      const paidFetch = createPaidFetch({
        wallet: api.payer.wallet,
        fetch: loopbackFetch,
        policy: { ...publicDns, requireHttps: false },
      });
      expect((await paidFetch('https://shop.example/page')).l402.paid).toBe(true);
      await rejection(paidFetch('http://shop.example/page', { maxSats: 1 }));
      expect(api.requests.at(-1)?.authorization).toBeNull();
    });

    it('refuses an https to http redirect under the default policy, and never sends the token over it', async () => {
      const { api, loopbackFetch } = await shop();
      const strict = createPaidFetch({
        wallet: api.payer.wallet,
        fetch: loopbackFetch,
        policy: publicDns,
      });
      const refused = await rejection(strict('https://shop.example/downgrade'));
      // Paid on the https hop, refused on the http one: the error says what was paid.
      expect(refused).toBeInstanceOf(PaidNotDeliveredError);
      expect(refused).toMatchObject({ paid: true, amountMsat: 10_000n });
      expect(refused.cause).toBeInstanceOf(PolicyDeniedError);
      const lax = createPaidFetch({
        wallet: api.payer.wallet,
        fetch: loopbackFetch,
        policy: { ...publicDns, requireHttps: false },
      });
      const before = api.requests.length;
      // The redirect target is paywalled too; the call paid once already, so it stops.
      const error = await rejection(lax('https://shop.example/downgrade'));
      expect(error).toBeInstanceOf(PaymentLoopError);
      expect(api.requests.slice(before).map((request) => request.authorization !== null)).toEqual([
        false,
        true,
        false,
      ]);
    });
  });
});

describe('failure mode 9: invoice/macaroon mismatch', () => {
  it('refuses an invoice whose payment hash differs from the macaroon’s before paying', async () => {
    const { network, merchant, payer } = sandbox();
    const server = await crafted(() => {
      const invoice = merchant.createInvoice({ amountSats: 10 });
      const other = merchant.createInvoice({ amountSats: 10 });
      return paymentRequired(challengeHeader(invoice.invoice, other.paymentHash));
    });
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${server.url}/x`));
    expect(error).toBeInstanceOf(InvoiceMismatchError);
    expect(error.paid).toBe(false);
    expect(network.payments).toHaveLength(0);
  });

  it('checks the preimage after paying and never sends a wrong one; the wallet lookup recovers the real one', async () => {
    const api = await paidApi();
    const lying = spyWallet(api.payer.wallet, {
      afterPay: (result) => ({ ...result, preimage: '00'.repeat(32) }),
    });
    const budget = createBudget({ maxSats: 1_000 });
    const paidFetch = createPaidFetch({ wallet: lying, budget, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${api.url}/x`));
    expect(error).toBeInstanceOf(PreimageMismatchError);
    expect(error.amountMsat).toBe(10_000n);
    expect(api.requests.map((request) => request.authorization)).toEqual([null]);
    expect((await budget.status()).spentMsat).toBe(10_000n);

    const response = await paidFetch(`${api.url}/x`);
    expect(response.status).toBe(200);
    expect(succeeded(api.network)).toBe(1);
    expect(lying.calls).toHaveLength(1);
  });
});

describe('failure mode 10: agent approves itself', () => {
  it('pays only when the operator callback returns exactly true; nothing in the request can approve', async () => {
    const api = await paidApi();
    const asked: unknown[] = [];
    let answer: unknown = false;
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      policy: {
        ...loopbackPolicy,
        approve: (payment) => {
          asked.push(payment);
          return answer as boolean;
        },
      },
    });
    // What a model could put into a tool call: flags, headers, extra init fields.
    const selfApproval = {
      approve: true,
      approved: true,
      headers: { 'x-l402-approve': 'true' },
    } as RequestInit;
    const denied = await rejection(paidFetch(`${api.url}/pricey`, selfApproval));
    expect(denied).toBeInstanceOf(ApprovalDeniedError);
    answer = 'yes';
    expect(await rejection(paidFetch(`${api.url}/pricey`, selfApproval))).toBeInstanceOf(
      ApprovalDeniedError,
    );
    expect(api.network.payments).toHaveLength(0);

    answer = true;
    expect((await paidFetch(`${api.url}/pricey`)).l402.paid).toBe(true);
    expect(asked).toHaveLength(3);
    expect(asked[2]).toMatchObject({ amountMsat: 10_000n, maxFeeMsat: 1_100n });
  });

  it('asks only above the threshold', async () => {
    const api = await paidApi();
    let asked = 0;
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      policy: {
        ...loopbackPolicy,
        approveAboveSats: 10,
        approve: () => {
          asked++;
          return false;
        },
      },
    });
    expect((await paidFetch(`${api.url}/cheap`)).l402.paid).toBe(true);
    expect(asked).toBe(0);
  });
});

describe('failure mode 11: bare errors', () => {
  it('says nothing was paid when the server cannot be reached', async () => {
    const server = await startPaidApi();
    const url = server.url;
    await server.close();
    const paidFetch = createPaidFetch({ wallet: server.payer.wallet, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${url}/gone`));
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error.toJSON()).toMatchObject({ code: 'REQUEST_FAILED', paid: false, amountMsat: '0' });
    expect(error.paymentSummary).toBe('Nothing was paid.');
  });

  it('says what was paid when the connection drops after paying, and keeps the token', async () => {
    const { network, merchant, payer } = sandbox();
    let drops = 1;
    const server = createServer((request, response) => {
      if (request.headers.authorization && drops-- > 0) {
        request.socket.destroy();
        return;
      }
      if (request.headers.authorization) {
        response.end('delivered');
        return;
      }
      const invoice = merchant.createInvoice({ amountSats: 10 });
      response.writeHead(402, { 'www-authenticate': challengeHeader(invoice) }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/item`;
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: loopbackPolicy });
    const error = await rejection(paidFetch(url));
    expect(error).toBeInstanceOf(PaidNotDeliveredError);
    expect(error.toJSON()).toMatchObject({ paid: true, amountMsat: '10000' });
    expect(error.paymentSummary).toBe('Paid 10 sats.');

    const response = await paidFetch(url);
    expect(await response.text()).toBe('delivered');
    expect(response.l402).toMatchObject({ paid: false, usedCachedToken: true });
    expect(succeeded(network)).toBe(1);
  });

  it('says nothing was paid when the wallet finds no route', async () => {
    const api = await paidApi();
    api.payer.injectFault({ kind: 'no-route' });
    const budget = createBudget({ maxSats: 1_000 });
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, budget, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${api.url}/x`));
    expect(error).toMatchObject({ code: 'NO_ROUTE', paid: false });
    expect(await budget.status()).toMatchObject({
      spentMsat: 0n,
      reservedMsat: 0n,
      pendingMsat: 0n,
    });
  });
});

describe('failure mode 12: expired or amountless invoices', () => {
  it('refuses an expired invoice, an amountless one and one for another network without calling the wallet', async () => {
    const { payer } = sandbox();
    const expired = signInvoice({
      amountMsat: 10_000n,
      timestamp: Math.floor(Date.now() / 1000) - 7_200,
      expirySeconds: 3_600,
    });
    const amountless = signInvoice();
    const signet = signInvoice({ network: 'signet', amountMsat: 10_000n });
    const offers: Record<string, typeof expired> = {
      '/expired': expired,
      '/amountless': amountless,
      '/signet': signet,
    };
    const server = await crafted((request) =>
      paymentRequired(challengeHeader(offers[new URL(request.url).pathname]!)),
    );
    const wallet = spyWallet(payer.wallet);
    const paidFetch = createPaidFetch({ wallet, policy: loopbackPolicy });
    expect(await rejection(paidFetch(`${server.url}/expired`))).toBeInstanceOf(InvoiceExpiredError);
    expect(await rejection(paidFetch(`${server.url}/amountless`))).toBeInstanceOf(
      AmountlessInvoiceError,
    );
    expect(await rejection(paidFetch(`${server.url}/signet`))).toBeInstanceOf(NetworkMismatchError);
    expect(wallet.calls).toHaveLength(0);
  });
});
