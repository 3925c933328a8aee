import {
  InsufficientBalanceError,
  InvoiceAlreadyPaidError,
  isPreimageFor,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  WalletUnauthorizedError,
} from '@l402kit/core';
import { createSandboxNetwork, type SandboxNode } from '@l402kit/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { createLnbitsWallet, type LnbitsWallet } from './lnbits-wallet.js';
import { startLnbitsReproduction } from './testing/lnbits-reproduction.js';

const ADMIN_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const INVOICE_KEY = '0f9e8d7c6b5a49382716f5e4d3c2b1a0';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(balanceSats = 10_000, pendingAfterMs?: number) {
  const network = createSandboxNetwork({ feeBaseMsat: 1_000n, feeRatePpm: 1_000 });
  const payer = network.createNode({ name: 'payer', balanceSats });
  const merchant = network.createNode({ name: 'merchant' });
  const lnbits = await startLnbitsReproduction({
    wallet: payer.wallet,
    adminKey: ADMIN_KEY,
    invoiceKey: INVOICE_KEY,
    ...(pendingAfterMs === undefined ? {} : { pendingAfterMs }),
  });
  const wallet = createLnbitsWallet({ url: lnbits.url, adminKey: ADMIN_KEY, timeoutMs: 2_000 });
  cleanups.push(
    () => lnbits.close(),
    () => wallet.close(),
  );
  return { network, payer, merchant, lnbits, wallet };
}

function pay(wallet: LnbitsWallet, merchant: SandboxNode, sats: number, timeoutMs = 5_000) {
  const { invoice, paymentHash } = merchant.createInvoice({ amountSats: sats });
  const request = {
    invoice,
    paymentHash,
    amountMsat: BigInt(sats) * 1000n,
    maxFeeMsat: 20_000n,
    timeoutMs,
  };
  return { paymentHash, request, result: wallet.payInvoice(request) };
}

describe('LNbits wallet against a reproduction of the LNbits API', () => {
  it('pays with out: true and the admin key, then reads preimage and fee (negative msat) from the payment', async () => {
    const { payer, merchant, lnbits, wallet } = await setup();
    const { paymentHash, result } = pay(wallet, merchant, 1_000);
    const { preimage, feeMsat } = await result;
    expect(isPreimageFor(preimage, paymentHash)).toBe(true);
    expect(feeMsat).toBe(2_000n);
    expect(payer.balanceMsat).toBe(10_000_000n - 1_002_000n);
    expect(merchant.balanceMsat).toBe(1_000_000n);

    const sent = lnbits.requests.find((request) => request.method === 'POST');
    expect(sent?.headers['x-api-key']).toBe(ADMIN_KEY);
    expect(JSON.parse(sent?.body ?? '{}')).toMatchObject({ out: true });
  });

  it('maps HTTP 520 refusals: insufficient balance and already paid, nothing moved', async () => {
    const { payer, merchant, wallet } = await setup(500);
    await expect(pay(wallet, merchant, 1_000).result).rejects.toBeInstanceOf(
      InsufficientBalanceError,
    );
    const first = pay(wallet, merchant, 10);
    await first.result;
    const error = await wallet.payInvoice(first.request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvoiceAlreadyPaidError);
    expect((error as InvoiceAlreadyPaidError).paid).toBe(false);
    expect(payer.balanceMsat).toBe(500_000n - 10_000n - 1_010n);
  });

  it('refuses to pay with an invoice key before sending anything, but reads with it', async () => {
    const { lnbits, merchant } = await setup();
    const reader = createLnbitsWallet({ url: lnbits.url, invoiceKey: INVOICE_KEY });
    await expect(pay(reader, merchant, 10).result).rejects.toBeInstanceOf(WalletUnauthorizedError);
    expect(lnbits.requests).toHaveLength(0);
    expect(await reader.getBalance()).toEqual({ balanceMsat: 10_000_000n });
  });

  it('maps a wrong key to WalletUnauthorizedError without echoing it', async () => {
    const { lnbits, merchant } = await setup();
    const wrong = 'deadbeefdeadbeefdeadbeefdeadbeef';
    const wallet = createLnbitsWallet({ url: lnbits.url, adminKey: wrong });
    const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WalletUnauthorizedError);
    expect((error as Error).message).not.toContain(wrong);
  });

  it('reports an unknown outcome when LNbits never answers, and the lookup resolves it', async () => {
    const { lnbits, merchant, wallet } = await setup();
    lnbits.hangPayments = true;
    const { paymentHash, result } = pay(wallet, merchant, 30, 500);
    const error = await result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect((error as PaymentOutcomeUnknownError).amountMsat).toBe(50_000n);
    expect(await wallet.lookupPayment(paymentHash)).toMatchObject({
      state: 'succeeded',
      feeMsat: 1_030n,
    });
  });

  it('follows a payment LNbits reports pending until it settles', async () => {
    const { network, payer, merchant, lnbits, wallet } = await setup(10_000, 50);
    payer.injectFault({ kind: 'hang-then-settle', resolveAfterMs: 400 });
    const { paymentHash, result } = pay(wallet, merchant, 40, 3_000);
    const { preimage } = await result;
    const lookups = lnbits.requests.filter((request) => request.path.endsWith(paymentHash));
    expect(lookups.length).toBeGreaterThan(1);
    expect(isPreimageFor(preimage, paymentHash)).toBe(true);
    expect(network.pendingMsat).toBe(0n);
  });

  it('says nothing was paid when the connection is refused', async () => {
    const { lnbits, merchant } = await setup();
    await lnbits.close();
    const wallet = createLnbitsWallet({ url: lnbits.url, adminKey: ADMIN_KEY });
    const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentFailedError);
    expect((error as PaymentFailedError).paid).toBe(false);
  });

  it('creates an invoice in sats and reports unknown hashes and incoming invoices as unknown', async () => {
    const { network, payer, lnbits, wallet } = await setup();
    const created = await wallet.createInvoice({ amountMsat: 5_000n, description: 'memo' });
    expect(JSON.parse(lnbits.requests.at(-1)?.body ?? '{}')).toMatchObject({
      out: false,
      amount: 5,
      memo: 'memo',
    });
    expect(await wallet.lookupPayment(created.paymentHash)).toEqual({ state: 'unknown' });
    const buyer = network.createNode({ balanceSats: 10 });
    await buyer.wallet.payInvoice({
      ...created,
      amountMsat: 5_000n,
      maxFeeMsat: 5_000n,
      timeoutMs: 1_000,
    });
    expect(payer.balanceMsat).toBe(10_005_000n);
    expect(await wallet.lookupPayment('cd'.repeat(32))).toEqual({ state: 'unknown' });
  });
});
