import {
  isPreimageFor,
  NoRouteError,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  WalletUnauthorizedError,
} from '@l402kit/core';
import { createSandboxNetwork, type SandboxNode } from '@l402kit/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClnWallet, createClnWallet } from './cln-wallet.js';
import { startClnRestReproduction } from './testing/clnrest-reproduction.js';
import { LOOPBACK_TLS } from './testing/loopback-tls.js';

const RUNE = 'tU-RLjMiDpY2U0o3W1oFowar36RFGpWloPbW9-RuZdo9MyZpZD0wMjRiOWExZmE4ZTAwNmYxZTM5Mzdm';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(balanceSats = 10_000) {
  const network = createSandboxNetwork({ feeBaseMsat: 1_000n, feeRatePpm: 1_000 });
  const payer = network.createNode({ name: 'payer', balanceSats });
  const merchant = network.createNode({ name: 'merchant' });
  const cln = await startClnRestReproduction({
    wallet: payer.wallet,
    rune: RUNE,
    tls: LOOPBACK_TLS,
  });
  const wallet = createClnWallet({
    url: cln.url,
    rune: RUNE,
    tlsCert: LOOPBACK_TLS.cert,
    timeoutMs: 2_000,
  });
  cleanups.push(
    () => cln.close(),
    () => wallet.close(),
  );
  return { network, payer, merchant, cln, wallet };
}

function pay(
  wallet: ClnWallet,
  merchant: SandboxNode,
  sats: number,
  options: { timeoutMs?: number; maxFeeMsat?: bigint } = {},
) {
  const { invoice, paymentHash } = merchant.createInvoice({ amountSats: sats });
  const request = {
    invoice,
    paymentHash,
    amountMsat: BigInt(sats) * 1000n,
    maxFeeMsat: options.maxFeeMsat ?? 10_000n,
    timeoutMs: options.timeoutMs ?? 5_000,
  };
  return { paymentHash, request, result: wallet.payInvoice(request) };
}

describe('CLNRest wallet against a reproduction of CLNRest', () => {
  it('pays with the Rune header and maxfee; the fee is amount_sent_msat - amount_msat', async () => {
    const { payer, merchant, cln, wallet } = await setup();
    const { paymentHash, result } = pay(wallet, merchant, 1_000, { maxFeeMsat: 3_333n });
    const { preimage, feeMsat } = await result;
    expect(isPreimageFor(preimage, paymentHash)).toBe(true);
    expect(feeMsat).toBe(2_000n);
    expect(payer.balanceMsat).toBe(10_000_000n - 1_002_000n);
    expect(merchant.balanceMsat).toBe(1_000_000n);

    const sent = cln.requests.find((request) => request.path === '/v1/pay');
    expect(sent?.headers['rune']).toBe(RUNE);
    expect(JSON.parse(sent?.body ?? '{}')).toMatchObject({ maxfee: 3_333, retry_for: 4 });
  });

  it('maps pay error 205 to NoRouteError (fee limit below the route fee, or not enough funds), nothing moved', async () => {
    const { payer, merchant, wallet } = await setup(500);
    await expect(pay(wallet, merchant, 100, { maxFeeMsat: 5n }).result).rejects.toBeInstanceOf(
      NoRouteError,
    );
    await expect(pay(wallet, merchant, 1_000).result).rejects.toBeInstanceOf(NoRouteError);
    expect(payer.balanceMsat).toBe(500_000n);
  });

  it('returns the earlier success when the invoice was already paid, as pay does', async () => {
    const { payer, merchant, wallet } = await setup();
    const first = pay(wallet, merchant, 10);
    const paid = await first.result;
    await expect(wallet.payInvoice(first.request)).resolves.toEqual(paid);
    expect(payer.balanceMsat).toBe(10_000_000n - 11_010n);
  });

  it('maps a wrong rune to WalletUnauthorizedError without echoing it', async () => {
    const { cln, merchant } = await setup();
    const wrong = 'Zm9yZ2VkLXJ1bmUtbm90LWRlcml2ZWQtZnJvbS1tYXN0ZXI=';
    const wallet = createClnWallet({ url: cln.url, rune: wrong, tlsCert: LOOPBACK_TLS.cert });
    cleanups.push(() => wallet.close());
    const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WalletUnauthorizedError);
    expect((error as Error).message).not.toContain(wrong);
    await expect(wallet.getBalance()).rejects.toBeInstanceOf(WalletUnauthorizedError);
  });

  it('reports an unknown outcome when pay never returns, and listpays resolves it', async () => {
    const { cln, merchant, wallet } = await setup();
    cln.hangPayments = true;
    const { paymentHash, result } = pay(wallet, merchant, 25, { timeoutMs: 500 });
    await expect(result).rejects.toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(await wallet.lookupPayment(paymentHash)).toMatchObject({
      state: 'succeeded',
      feeMsat: 1_025n,
    });
  });

  it('reads pending, then failed, from listpays for a payment that hangs and then fails', async () => {
    const { network, payer, merchant, wallet } = await setup();
    payer.injectFault({ kind: 'hang-then-fail' });
    const { paymentHash, result } = pay(wallet, merchant, 25, { timeoutMs: 500 });
    await expect(result).rejects.toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(await wallet.lookupPayment(paymentHash)).toEqual({ state: 'pending' });
    network.resolvePending(paymentHash);
    expect(await wallet.lookupPayment(paymentHash)).toEqual({ state: 'failed' });
    expect(payer.balanceMsat).toBe(10_000_000n);
  });

  it('says nothing was paid when the connection is refused', async () => {
    const { cln, merchant } = await setup();
    await cln.close();
    const wallet = createClnWallet({ url: cln.url, rune: RUNE, tlsCert: LOOPBACK_TLS.cert });
    const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentFailedError);
    expect((error as PaymentFailedError).paid).toBe(false);
  });

  it('sums our_amount_msat of normal channels, creates invoices with unique labels', async () => {
    const { network, payer, wallet } = await setup();
    expect(await wallet.getBalance()).toEqual({ balanceMsat: 10_000_000n });
    const first = await wallet.createInvoice({ amountMsat: 1_234n, description: 'a' });
    const second = await wallet.createInvoice({ amountMsat: 1_234n, description: 'a' });
    expect(first.paymentHash).not.toBe(second.paymentHash);
    const buyer = network.createNode({ balanceSats: 10 });
    await buyer.wallet.payInvoice({
      ...first,
      amountMsat: 1_234n,
      maxFeeMsat: 5_000n,
      timeoutMs: 1_000,
    });
    expect(payer.balanceMsat).toBe(10_001_234n);
    expect(await wallet.lookupPayment('ef'.repeat(32))).toEqual({ state: 'unknown' });
  });
});
