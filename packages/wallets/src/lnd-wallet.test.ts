import {
  InsufficientBalanceError,
  InvoiceAlreadyPaidError,
  isPreimageFor,
  NoRouteError,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  RequestFailedError,
  WalletUnauthorizedError,
} from '@l402kit/core';
import { createSandboxNetwork, type SandboxNode } from '@l402kit/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { createLndWallet, type LndWallet } from './lnd-wallet.js';
import {
  type LndRestReproduction,
  startLndRestReproduction,
} from './testing/lnd-rest-reproduction.js';
import { LOOPBACK_TLS } from './testing/loopback-tls.js';

const MACAROON = '0201036c6e6402f801030a10'.padEnd(96, 'ab');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { balanceSats?: number; tls?: boolean } = {}) {
  const network = createSandboxNetwork({ feeBaseMsat: 1_000n, feeRatePpm: 1_000 });
  const payer = network.createNode({ name: 'payer', balanceSats: options.balanceSats ?? 10_000 });
  const merchant = network.createNode({ name: 'merchant' });
  const lnd = await startLndRestReproduction({
    wallet: payer.wallet,
    macaroonHex: MACAROON,
    ...(options.tls ? { tls: LOOPBACK_TLS } : {}),
  });
  const wallet = createLndWallet({
    url: lnd.url,
    macaroonHex: MACAROON,
    ...(options.tls ? { tlsCert: LOOPBACK_TLS.cert } : {}),
    timeoutMs: 2_000,
  });
  cleanups.push(
    () => lnd.close(),
    () => wallet.close(),
  );
  return { network, payer, merchant, lnd, wallet };
}

function pay(
  wallet: LndWallet,
  merchant: SandboxNode,
  sats: number,
  extra: { timeoutMs?: number; maxFeeMsat?: bigint } = {},
) {
  const { invoice, paymentHash } = merchant.createInvoice({ amountSats: sats });
  return {
    paymentHash,
    result: wallet.payInvoice({
      invoice,
      paymentHash,
      amountMsat: BigInt(sats) * 1000n,
      maxFeeMsat: extra.maxFeeMsat ?? 5_000n,
      timeoutMs: extra.timeoutMs ?? 5_000,
    }),
  };
}

function sendBody(lnd: LndRestReproduction) {
  const request = lnd.requests.find((entry) => entry.path === '/v2/router/send');
  return {
    headers: request?.headers,
    body: JSON.parse(request?.body ?? '{}') as Record<string, unknown>,
  };
}

describe('LND REST wallet against a reproduction of the LND REST API', () => {
  it('pays through /v2/router/send: balances move by exactly amount + fee, with macaroon and fee limit sent', async () => {
    const { payer, merchant, lnd, wallet } = await setup();
    const { paymentHash, result } = pay(wallet, merchant, 1_000, { maxFeeMsat: 4_321n });
    const { preimage, feeMsat } = await result;

    expect(isPreimageFor(preimage, paymentHash)).toBe(true);
    expect(feeMsat).toBe(2_000n); // 1,000 base + 1,000 ppm of 1,000,000 msat
    expect(payer.balanceMsat).toBe(10_000_000n - 1_000_000n - 2_000n);
    expect(merchant.balanceMsat).toBe(1_000_000n);
    const sent = sendBody(lnd);
    expect(sent.headers?.['grpc-metadata-macaroon']).toBe(MACAROON);
    expect(sent.body['fee_limit_msat']).toBe('4321');
    expect(sent.body['timeout_seconds']).toBe(4);
  });

  it('maps FAILED updates: no route (fee limit below the route fee) and insufficient balance, nothing moves', async () => {
    const { payer, merchant, wallet } = await setup({ balanceSats: 500 });
    await expect(pay(wallet, merchant, 100, { maxFeeMsat: 10n }).result).rejects.toBeInstanceOf(
      NoRouteError,
    );
    await expect(pay(wallet, merchant, 1_000).result).rejects.toBeInstanceOf(
      InsufficientBalanceError,
    );
    expect(payer.balanceMsat).toBe(500_000n);
  });

  it('maps the already-paid refusal (HTTP 409 before the stream)', async () => {
    const { merchant, wallet } = await setup();
    const { invoice, paymentHash } = merchant.createInvoice({ amountSats: 10 });
    const request = {
      invoice,
      paymentHash,
      amountMsat: 10_000n,
      maxFeeMsat: 5_000n,
      timeoutMs: 5_000,
    };
    await wallet.payInvoice(request);
    const error = await wallet.payInvoice(request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvoiceAlreadyPaidError);
    expect((error as InvoiceAlreadyPaidError).paid).toBe(false);
  });

  it('refuses a wrong macaroon as WalletUnauthorizedError without echoing it', async () => {
    const { lnd, merchant } = await setup();
    const other = 'cd'.repeat(40);
    const wallet = createLndWallet({ url: lnd.url, macaroonHex: other });
    cleanups.push(() => wallet.close());
    const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WalletUnauthorizedError);
    expect(String((error as Error).message)).not.toContain(other);
    await expect(wallet.getBalance()).rejects.toBeInstanceOf(WalletUnauthorizedError);
  });

  it('reports an unknown outcome when LND never sends a final update, and the lookup resolves it', async () => {
    const { lnd, merchant, wallet } = await setup();
    lnd.hangPayments = true;
    const { paymentHash, result } = pay(wallet, merchant, 50, { timeoutMs: 600 });
    const error = await result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect((error as PaymentOutcomeUnknownError).paid).toBe('unknown');
    expect((error as PaymentOutcomeUnknownError).amountMsat).toBe(55_000n);

    const status = await wallet.lookupPayment(paymentHash);
    expect(status.state).toBe('succeeded');
    expect(status.state === 'succeeded' && isPreimageFor(status.preimage, paymentHash)).toBe(true);
  });

  it('keeps a payment the node still has in flight unknown, then reads its settlement', async () => {
    const { network, payer, merchant, wallet } = await setup();
    payer.injectFault({ kind: 'hang-then-settle' });
    const { paymentHash, result } = pay(wallet, merchant, 70, { timeoutMs: 500 });
    await expect(result).rejects.toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(await wallet.lookupPayment(paymentHash)).toEqual({ state: 'pending' });
    network.resolvePending(paymentHash);
    expect((await wallet.lookupPayment(paymentHash)).state).toBe('succeeded');
  });

  it('treats a caller abort after sending as unknown, and one before sending as nothing paid', async () => {
    const { lnd, merchant, wallet } = await setup();
    lnd.hangPayments = true;
    const { invoice, paymentHash } = merchant.createInvoice({ amountSats: 5 });
    const request = {
      invoice,
      paymentHash,
      amountMsat: 5_000n,
      maxFeeMsat: 5_000n,
      timeoutMs: 10_000,
    };
    const controller = new AbortController();
    const paying = wallet.payInvoice({ ...request, signal: controller.signal });
    // Abort once LND has the request (the reproduction recorded it).
    while (!lnd.requests.some((entry) => entry.path === '/v2/router/send')) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    controller.abort();
    await expect(paying).rejects.toBeInstanceOf(PaymentOutcomeUnknownError);

    const sent = lnd.requests.length;
    const aborted = await wallet
      .payInvoice({ ...request, signal: AbortSignal.abort() })
      .catch((caught: unknown) => caught);
    expect(aborted).toBeInstanceOf(PaymentFailedError);
    expect(lnd.requests).toHaveLength(sent);
  });

  it('says nothing was paid when the connection is refused before sending', async () => {
    const { lnd, merchant } = await setup();
    const url = lnd.url;
    await lnd.close();
    const wallet = createLndWallet({ url, macaroonHex: MACAROON });
    const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentFailedError);
    expect((error as PaymentFailedError).paid).toBe(false);
    await expect(wallet.getBalance()).rejects.toBeInstanceOf(RequestFailedError);
  });

  it('reads the balance, creates an invoice another node pays, and reports an unknown hash as unknown', async () => {
    const { network, wallet, payer } = await setup();
    expect(await wallet.getBalance()).toEqual({ balanceMsat: 10_000_000n });
    const created = await wallet.createInvoice({ amountMsat: 2_000n, description: 'test' });
    const buyer = network.createNode({ balanceSats: 10 });
    await buyer.wallet.payInvoice({
      ...created,
      amountMsat: 2_000n,
      maxFeeMsat: 5_000n,
      timeoutMs: 1_000,
    });
    expect(payer.balanceMsat).toBe(10_002_000n);
    expect(await wallet.lookupPayment('00'.repeat(32))).toEqual({ state: 'unknown' });
  });

  it('trusts a self-signed certificate given as tlsCert, and refuses the connection without it', async () => {
    const { lnd, merchant, wallet } = await setup({ tls: true });
    expect(lnd.url.startsWith('https://')).toBe(true);
    await expect(pay(wallet, merchant, 10).result).resolves.toMatchObject({ feeMsat: 1_010n });

    const untrusting = createLndWallet({ url: lnd.url, macaroonHex: MACAROON });
    cleanups.push(() => untrusting.close());
    const error = await pay(untrusting, merchant, 10).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentFailedError);
    expect((error as PaymentFailedError).paid).toBe(false);
  });
});
