// Two processes sharing one FileTokenStore meet the same unpaid resource at the same moment:
// the store's atomic claim lets exactly one of them pay, and the other waits for its token.
// The sandbox and the paywall live in this process; the children pay through an HTTP wallet.
// Then the waiting itself, with two paid fetches sharing one store standing for two processes
// (each has its own single flight, so only the store keeps them from both paying).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createBudget,
  createPaidFetch,
  FileTokenStore,
  type L402Error,
  MemoryTokenStore,
  PaymentOutcomeUnknownError,
  RequestFailedError,
  type TokenStore,
  type Wallet,
} from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startFetchChild } from './support/fetch-child.js';
import { type PaidApi, startPaidApi } from './support/paid-api.js';
import { serveWallet } from './support/wallet-server.js';
import { rejection } from './support/outcomes.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('two processes sharing a file token store', () => {
  it('pay once for a resource both request at the same moment, and both get it', async () => {
    const api = await startPaidApi();
    cleanups.push(api.close);
    const walletServer = await serveWallet(api.payer.wallet);
    cleanups.push(walletServer.close);
    const directory = await mkdtemp(join(tmpdir(), 'l402kit-race-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const tokenFile = join(directory, 'tokens.json');
    const env = { WALLET_URL: walletServer.url, TOKEN_FILE: tokenFile };

    const children = [startFetchChild(env), startFetchChild(env)];
    for (const child of children) cleanups.push(child.kill);
    // Both set up before the first start signal, so that they really start together.
    for (const child of children) expect(await child.next()).toEqual({ ready: true });

    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const path = `/race/${round}`;
      for (const child of children) child.fetch(`${api.url}${path}`);
      const outcomes = await Promise.all(children.map((child) => child.next()));
      const where = `round ${round}: ${JSON.stringify(outcomes)}`;

      for (const outcome of outcomes) {
        expect(outcome.status, where).toBe(200);
        expect(JSON.parse(outcome.body ?? '{}'), where).toMatchObject({ path });
      }
      expect(outcomes.filter((outcome) => outcome.receipt?.paid).length, where).toBe(1);
      const payments = api.network.payments.filter((payment) => payment.state !== 'failed');
      expect(payments.length, where).toBe(round + 1);
      expect(
        payments.every((payment) => payment.state === 'succeeded'),
        where,
      ).toBe(true);
      // Both used the one token bought.
      const hashes = new Set(outcomes.map((outcome) => outcome.receipt?.paymentHash));
      expect([...hashes], where).toEqual([payments.at(-1)?.paymentHash]);
    }

    expect(api.payer.balanceMsat).toBe(100_000_000n - BigInt(rounds) * 10_000n);
    const tokens = await new FileTokenStore(tokenFile).list();
    expect(tokens.map((token) => [token.scope, token.state]).sort()).toEqual(
      Array.from({ length: rounds }, (_, round) => [`/race/${round}`, 'paid']),
    );
  }, 60_000);
});

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };

async function paidApi(): Promise<PaidApi> {
  const api = await startPaidApi();
  cleanups.push(api.close);
  return api;
}

/** `wallet`, and a promise that resolves when it is first asked about a payment. */
function watchLookups(wallet: Wallet) {
  let looked!: () => void;
  const asked = new Promise<void>((resolve) => {
    looked = resolve;
  });
  const watched: Wallet = {
    ...wallet,
    payInvoice: (request) => wallet.payInvoice(request),
    lookupPayment: (paymentHash) => {
      looked();
      return wallet.lookupPayment!(paymentHash);
    },
  };
  return { wallet: watched, asked };
}

/** `store` as seen by a process that read it just before another's claim landed: its first get finds nothing. */
function readJustBefore(store: TokenStore): TokenStore {
  let first = true;
  return {
    get: async (key) => {
      if (!first) return store.get(key);
      first = false;
      return undefined;
    },
    find: (url, method) => store.find(url, method),
    put: (token) => store.put(token),
    claim: (token) => store.claim!(token),
    delete: (key) => store.delete(key),
    list: () => store.list(),
    clear: () => store.clear(),
  };
}

async function eventually(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** A first fetch paying for /shared with a payment that hangs until the test settles or fails it. */
async function hangingPurchase(kind: 'hang-then-settle' | 'hang-then-fail') {
  const api = await paidApi();
  api.payer.injectFault({ kind });
  const store = new MemoryTokenStore();
  const first = createPaidFetch({
    wallet: api.payer.wallet,
    tokenStore: store,
    policy: loopbackPolicy,
    paymentTimeoutMs: 30_000,
  });
  const paying = first(`${api.url}/shared`).then(
    (response) => response,
    (error: unknown) => error as L402Error,
  );
  await eventually(() => api.network.payments.length === 1);
  return { api, store, paying };
}

describe('a payment another process is making', () => {
  it('is waited for, and its token used: nothing paid or reserved here', async () => {
    const { api, store, paying } = await hangingPurchase('hang-then-settle');
    const budget = createBudget({ maxSats: 1_000 });
    const lookups = watchLookups(api.payer.wallet);
    const second = createPaidFetch({
      wallet: lookups.wallet,
      tokenStore: store,
      budget,
      policy: loopbackPolicy,
    });
    const waiting = second(`${api.url}/shared`);
    await lookups.asked;
    expect((await budget.status()).pendingMsat).toBe(0n);

    api.network.settlePending();
    const [first, response] = await Promise.all([paying, waiting]);
    expect(first).toMatchObject({ status: 200, l402: { paid: true } });
    expect(response.status).toBe(200);
    expect(response.l402).toMatchObject({ paid: false, usedCachedToken: true, amountMsat: 0n });
    expect(api.network.payments.map((payment) => payment.state)).toEqual(['succeeded']);
    expect(await budget.status()).toMatchObject({ spentMsat: 0n, pendingMsat: 0n });
  });

  it('is waited for after losing the claim to it, with the budget released', async () => {
    const { api, store, paying } = await hangingPurchase('hang-then-settle');
    const budget = createBudget({ maxSats: 1_000 });
    const lookups = watchLookups(api.payer.wallet);
    const second = createPaidFetch({
      wallet: lookups.wallet,
      tokenStore: readJustBefore(store),
      budget,
      policy: loopbackPolicy,
    });
    const waiting = second(`${api.url}/shared`);
    // It saw no pending payment, got past every check, and found the resource claimed.
    await lookups.asked;
    expect((await budget.status()).pendingMsat).toBe(0n);

    api.network.settlePending();
    const [first, response] = await Promise.all([paying, waiting]);
    expect(first).toMatchObject({ status: 200, l402: { paid: true } });
    expect(response.l402).toMatchObject({ paid: false, usedCachedToken: true });
    expect(api.network.payments).toHaveLength(1);
    expect(await budget.status()).toMatchObject({ spentMsat: 0n, pendingMsat: 0n });
  });

  it('that fails frees the resource: the waiting call claims it and pays once', async () => {
    const { api, store, paying } = await hangingPurchase('hang-then-fail');
    const budget = createBudget({ maxSats: 1_000 });
    const lookups = watchLookups(api.payer.wallet);
    const second = createPaidFetch({
      wallet: lookups.wallet,
      tokenStore: store,
      budget,
      policy: loopbackPolicy,
    });
    const waiting = second(`${api.url}/shared`);
    await lookups.asked;

    api.network.failPending();
    const [first, response] = await Promise.all([paying, waiting]);
    expect(first).toMatchObject({ paid: false });
    expect(response.status).toBe(200);
    expect(response.l402).toMatchObject({ paid: true, amountMsat: 10_000n });
    expect(api.network.payments.map((payment) => payment.state)).toEqual(['failed', 'succeeded']);
    expect(await budget.status()).toMatchObject({ spentMsat: 10_000n, pendingMsat: 0n });
  });

  it('still unknown when the wait runs out: PaymentOutcomeUnknownError, never a second payment', async () => {
    const { api, store, paying } = await hangingPurchase('hang-then-settle');
    const budget = createBudget({ maxSats: 1_000 });
    const second = createPaidFetch({
      wallet: api.payer.wallet,
      tokenStore: store,
      budget,
      policy: loopbackPolicy,
      // Waits until the other payment is this old (plus a second's grace), then asks the wallet.
      paymentTimeoutMs: 50,
    });
    const error = await rejection(second(`${api.url}/shared`));
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(error.paid).toBe('unknown');
    expect(api.network.payments).toHaveLength(1);
    expect(await budget.status()).toMatchObject({ spentMsat: 0n, pendingMsat: 0n });

    api.network.settlePending();
    expect(await paying).toMatchObject({ status: 200 });
  });

  it('with a custom store without claim, the pending record is written with put', async () => {
    const api = await paidApi();
    const store = new MemoryTokenStore();
    const { claim: _, ...withoutClaim } = readJustBefore(store);
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      tokenStore: withoutClaim,
      policy: loopbackPolicy,
    });
    const response = await paidFetch(`${api.url}/custom`);
    expect(response.l402).toMatchObject({ paid: true });
    expect((await store.list()).map((token) => token.state)).toEqual(['paid']);
  });

  it('stops being waited for when the call is aborted; nothing paid', async () => {
    const { api, store, paying } = await hangingPurchase('hang-then-settle');
    const budget = createBudget({ maxSats: 1_000 });
    const lookups = watchLookups(api.payer.wallet);
    const second = createPaidFetch({
      wallet: lookups.wallet,
      tokenStore: store,
      budget,
      policy: loopbackPolicy,
    });
    const controller = new AbortController();
    const waiting = rejection(second(`${api.url}/shared`, { signal: controller.signal }));
    await lookups.asked;
    controller.abort();
    const error = await waiting;
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error.paid).toBe(false);
    expect(await budget.status()).toMatchObject({ spentMsat: 0n, pendingMsat: 0n });

    api.network.settlePending();
    expect(await paying).toMatchObject({ status: 200 });
    expect(api.network.payments).toHaveLength(1);
  });
});
