import {
  InsufficientBalanceError,
  isPreimageFor,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  WalletConfigError,
  WalletQuotaExceededError,
  WalletRateLimitedError,
  WalletUnauthorizedError,
  WalletUnsupportedError,
} from '@l402kit/core';
import { createSandboxNetwork, type SandboxNode } from '@l402kit/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNwcWallet, type NwcWallet } from './nwc-wallet.js';
import { startNostrRelay, type TestNostrRelay } from './testing/nostr-relay.js';
import { startTestNwcService } from './testing/nwc-wallet-service.js';

// Real parts end to end: nostrmini relay on loopback, @getalby/sdk NWCWalletService answering
// for a sandbox node, and l402kit's NWC wallet (the SDK's NWCClient) as the client.
let relay: TestNostrRelay;
const cleanups: Array<() => Promise<void>> = [];
let baselineSockets = 0;

const tcpSockets = () =>
  process.getActiveResourcesInfo().filter((resource) => resource === 'TCPSocketWrap').length;

beforeAll(async () => {
  baselineSockets = tcpSockets();
  relay = await startNostrRelay();
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await relay.close();
});

async function setup(options: { balanceSats?: number; budgetMsat?: bigint } = {}) {
  const network = createSandboxNetwork({ feeBaseMsat: 1_000n, feeRatePpm: 1_000 });
  const payer = network.createNode({ name: 'payer', balanceSats: options.balanceSats ?? 10_000 });
  const merchant = network.createNode({ name: 'merchant' });
  const service = await startTestNwcService({
    relayUrl: relay.url,
    wallet: payer.wallet,
    ...(options.budgetMsat === undefined ? {} : { budgetMsat: options.budgetMsat }),
  });
  const wallet = createNwcWallet({ url: service.connectionUrl, timeoutMs: 5_000 });
  cleanups.push(
    () => service.close(),
    () => wallet.close(),
  );
  return { network, payer, merchant, service, wallet };
}

function pay(wallet: NwcWallet, merchant: SandboxNode, sats: number, timeoutMs = 5_000) {
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

describe('NWC wallet end to end: real relay, real NWCWalletService, real NWCClient', () => {
  it('pays a merchant invoice: balances move by exactly amount + fee, fee from fees_paid', async () => {
    const { payer, merchant, wallet, service } = await setup();
    const { paymentHash, result } = pay(wallet, merchant, 1_000);
    const { preimage, feeMsat } = await result;
    expect(isPreimageFor(preimage, paymentHash)).toBe(true);
    expect(feeMsat).toBe(2_000n);
    expect(payer.balanceMsat).toBe(10_000_000n - 1_002_000n);
    expect(merchant.balanceMsat).toBe(1_000_000n);
    expect(await wallet.getBalance()).toEqual({ balanceMsat: 8_998_000n });
    expect(service.received).toContain('pay_invoice');
    expect(await wallet.lookupPayment(paymentHash)).toEqual({
      state: 'succeeded',
      preimage,
      feeMsat: 2_000n,
    });
  });

  it('creates an invoice with make_invoice that another node pays', async () => {
    const { network, payer, wallet } = await setup();
    const created = await wallet.createInvoice({ amountMsat: 21_000n, description: 'nwc' });
    const buyer = network.createNode({ balanceSats: 100 });
    await buyer.wallet.payInvoice({
      ...created,
      amountMsat: 21_000n,
      maxFeeMsat: 5_000n,
      timeoutMs: 1_000,
    });
    expect(payer.balanceMsat).toBe(10_021_000n);
  });

  it('maps NIP-47 errors to typed errors that say nothing was paid', async () => {
    const { payer, merchant, service, wallet } = await setup({ balanceSats: 100 });
    // A real refusal from the sandbox: not enough money.
    await expect(pay(wallet, merchant, 1_000).result).rejects.toBeInstanceOf(
      InsufficientBalanceError,
    );

    const cases = [
      ['RATE_LIMITED', WalletRateLimitedError],
      ['RESTRICTED', WalletUnauthorizedError],
      ['UNAUTHORIZED', WalletUnauthorizedError],
      ['NOT_IMPLEMENTED', WalletUnsupportedError],
      ['QUOTA_EXCEEDED', WalletQuotaExceededError],
      ['PAYMENT_FAILED', PaymentFailedError],
    ] as const;
    for (const [code, type] of cases) {
      service.failNext('pay_invoice', { code, message: `test ${code}` });
      const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
      expect(error, code).toBeInstanceOf(type);
      expect((error as PaymentFailedError).paid, code).toBe(false);
      expect((error as Error).message, code).toContain(code);
    }
    expect(payer.balanceMsat).toBe(100_000n);
  });

  it('reads the wallet-side budget with get_budget, and gets QUOTA_EXCEEDED beyond it', async () => {
    const { merchant, wallet } = await setup({ budgetMsat: 40_000n });
    expect(await wallet.getBudget()).toEqual({
      usedMsat: 0n,
      totalMsat: 40_000n,
      renewalPeriod: 'never',
    });
    await pay(wallet, merchant, 20).result;
    expect(await wallet.getBudget()).toMatchObject({ usedMsat: 21_020n });
    await expect(pay(wallet, merchant, 20).result).rejects.toBeInstanceOf(WalletQuotaExceededError);
  });

  it('keeps an outcome unknown for codes that do not say the payment failed', async () => {
    const { merchant, service, wallet } = await setup();
    service.failNext('pay_invoice', { code: 'INTERNAL', message: 'backend hiccup' });
    const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect((error as PaymentOutcomeUnknownError).paid).toBe('unknown');
  });

  it('reports an unknown outcome when the service never answers, and lookup_invoice resolves it', async () => {
    const { merchant, service, wallet, payer } = await setup();
    service.silent = true;
    const { paymentHash, result } = pay(wallet, merchant, 40, 800);
    const error = await result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect((error as PaymentOutcomeUnknownError).amountMsat).toBe(60_000n);
    service.silent = false;
    expect(await wallet.lookupPayment(paymentHash)).toMatchObject({
      state: 'succeeded',
      feeMsat: 1_040n,
    });
    expect(payer.balanceMsat).toBe(10_000_000n - 41_040n);
    expect(await wallet.lookupPayment('00'.repeat(32))).toEqual({ state: 'unknown' });
  });

  it('has no budget to show when the wallet does not offer get_budget', async () => {
    const { wallet } = await setup();
    expect(await wallet.getBudget()).toBeUndefined();
  });

  it('never repeats the secret of a malformed connection URL', () => {
    const secret = 'ab'.repeat(31);
    const url = `nostr+walletconnect://${'cd'.repeat(32)}?relay=ws://127.0.0.1:1&secret=${secret}`;
    expect(() => createNwcWallet({ url })).toThrow(WalletConfigError);
    try {
      createNwcWallet({ url });
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
    }
  });

  it('closes every relay connection, so the process can exit', async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await relay.close();
    // Sockets finish closing on the next turns of the event loop.
    for (let attempt = 0; attempt < 50 && tcpSockets() > baselineSockets; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(tcpSockets()).toBe(baselineSockets);
    relay = await startNostrRelay();
  });
});
