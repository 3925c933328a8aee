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
import { createPhoenixdWallet, type PhoenixdWallet } from './phoenixd-wallet.js';
import { startPhoenixdReproduction } from './testing/phoenixd-reproduction.js';

const PASSWORD = 'f3c1a9e2b7d84c0e9a1b2c3d4e5f60718293a4b5c6d7e8f9';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(balanceSats = 10_000) {
  // 1,500 msat + 1,000 ppm: fees that are not whole sats, to catch a fee rounded down.
  const network = createSandboxNetwork({ feeBaseMsat: 1_500n, feeRatePpm: 1_000 });
  const payer = network.createNode({ name: 'payer', balanceSats });
  const merchant = network.createNode({ name: 'merchant' });
  const phoenixd = await startPhoenixdReproduction({
    wallet: payer.wallet,
    password: PASSWORD,
    limitedPassword: 'limited',
  });
  const wallet = createPhoenixdWallet({ url: phoenixd.url, password: PASSWORD, timeoutMs: 2_000 });
  cleanups.push(
    () => phoenixd.close(),
    () => wallet.close(),
  );
  return { network, payer, merchant, phoenixd, wallet };
}

function pay(wallet: PhoenixdWallet, merchant: SandboxNode, sats: number, timeoutMs = 5_000) {
  const { invoice, paymentHash } = merchant.createInvoice({ amountSats: sats });
  return {
    paymentHash,
    request: {
      invoice,
      paymentHash,
      amountMsat: BigInt(sats) * 1000n,
      maxFeeMsat: 10_000n,
      timeoutMs,
    },
    result: wallet.payInvoice({
      invoice,
      paymentHash,
      amountMsat: BigInt(sats) * 1000n,
      maxFeeMsat: 10_000n,
      timeoutMs,
    }),
  };
}

describe('phoenixd wallet against a reproduction of the phoenixd HTTP API', () => {
  it('pays with basic auth and a form body, and reports the exact msat fee (the pay answer truncates it)', async () => {
    const { payer, merchant, phoenixd, wallet } = await setup();
    const { paymentHash, result } = pay(wallet, merchant, 1_000);
    const { preimage, feeMsat } = await result;
    expect(isPreimageFor(preimage, paymentHash)).toBe(true);
    expect(feeMsat).toBe(2_500n); // routingFeeSat says 2
    expect(payer.balanceMsat).toBe(10_000_000n - 1_000_000n - 2_500n);
    expect(merchant.balanceMsat).toBe(1_000_000n);

    const sent = phoenixd.requests.find((request) => request.path === '/payinvoice');
    expect(sent?.headers.authorization).toBe(
      `Basic ${Buffer.from(`:${PASSWORD}`).toString('base64')}`,
    );
    expect(sent?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(sent?.body).get('invoice')).toMatch(/^lnbcrt10u1/);
  });

  it('rounds the fee up, never down, when the payment record cannot be read', async () => {
    const { merchant, phoenixd, wallet } = await setup();
    phoenixd.hideRecords = true;
    const { result } = pay(wallet, merchant, 1_000);
    const { feeMsat } = await result;
    expect(feeMsat).toBe(2_999n);
  });

  it('item 5: declares phoenixd fee rule, 4 sat + 0.4 %, as its worst case', async () => {
    const { wallet } = await setup();
    expect(wallet.worstCaseFeeMsat(10_000n)).toBe(4_040n);
    expect(wallet.worstCaseFeeMsat(1_000_001n)).toBe(8_001n); // rounded up
    const custom = createPhoenixdWallet({
      url: 'http://127.0.0.1:9740',
      password: PASSWORD,
      worstCaseFee: { baseMsat: 0n, ppm: 5_000 },
    });
    expect(custom.worstCaseFeeMsat(10_000n)).toBe(50n);
    expect(() =>
      createPhoenixdWallet({
        url: 'http://127.0.0.1:9740',
        password: PASSWORD,
        worstCaseFee: { baseMsat: -1n, ppm: 0 },
      }),
    ).toThrow(/worstCaseFee/);
  });

  it('item 5: a fee rounded up from whole sats is never above the worst case', async () => {
    // phoenixd's own fee, 4 sat + 0.4 %: 4,040 msat on 10 sats, which the pay answer truncates to 4.
    const network = createSandboxNetwork({ feeBaseMsat: 4_000n, feeRatePpm: 4_000 });
    const payer = network.createNode({ name: 'payer', balanceSats: 100 });
    const merchant = network.createNode({ name: 'merchant' });
    const phoenixd = await startPhoenixdReproduction({ wallet: payer.wallet, password: PASSWORD });
    phoenixd.hideRecords = true;
    const wallet = createPhoenixdWallet({ url: phoenixd.url, password: PASSWORD });
    cleanups.push(
      () => phoenixd.close(),
      () => wallet.close(),
    );
    const { feeMsat } = await pay(wallet, merchant, 10).result;
    expect(feeMsat).toBe(4_040n);
  });

  it('turns an HTTP 200 with a reason into typed failures, nothing moved', async () => {
    const { payer, merchant, wallet } = await setup(500);
    const poor = pay(wallet, merchant, 1_000);
    const error = await poor.result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InsufficientBalanceError);
    expect((error as InsufficientBalanceError).paid).toBe(false);

    const ok = pay(wallet, merchant, 10);
    await ok.result;
    await expect(wallet.payInvoice(ok.request)).rejects.toBeInstanceOf(InvoiceAlreadyPaidError);
    expect(payer.balanceMsat).toBe(500_000n - 10_000n - 1_510n);
  });

  it('refuses a wrong or limited password as WalletUnauthorizedError without echoing it', async () => {
    const { phoenixd, merchant } = await setup();
    for (const password of ['wrong-password-123', 'limited']) {
      const wallet = createPhoenixdWallet({ url: phoenixd.url, password });
      const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(WalletUnauthorizedError);
      expect((error as Error).message).not.toContain(password);
    }
    const limited = createPhoenixdWallet({ url: phoenixd.url, password: 'limited' });
    expect(await limited.getBalance()).toEqual({ balanceMsat: 10_000_000n });
  });

  it('reports an unknown outcome when phoenixd never answers, and the lookup resolves it', async () => {
    const { phoenixd, merchant, wallet } = await setup();
    phoenixd.hangPayments = true;
    const { paymentHash, result } = pay(wallet, merchant, 20, 500);
    const error = await result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect((error as PaymentOutcomeUnknownError).paid).toBe('unknown');
    const status = await wallet.lookupPayment(paymentHash);
    expect(status).toMatchObject({ state: 'succeeded', feeMsat: 1_520n });
  });

  it('says nothing was paid when the connection is refused', async () => {
    const { phoenixd, merchant } = await setup();
    await phoenixd.close();
    const wallet = createPhoenixdWallet({ url: phoenixd.url, password: PASSWORD });
    const error = await pay(wallet, merchant, 10).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentFailedError);
    expect((error as PaymentFailedError).paid).toBe(false);
  });

  it('reads the balance in sats, creates an invoice, and reports unknown hashes as unknown', async () => {
    const { network, payer, wallet } = await setup();
    expect(await wallet.getBalance()).toEqual({ balanceMsat: 10_000_000n });
    const created = await wallet.createInvoice({ amountMsat: 3_000n, description: 'x' });
    const buyer = network.createNode({ balanceSats: 10 });
    await buyer.wallet.payInvoice({
      ...created,
      amountMsat: 3_000n,
      maxFeeMsat: 5_000n,
      timeoutMs: 1_000,
    });
    expect(payer.balanceMsat).toBe(10_003_000n);
    await expect(wallet.createInvoice({ amountMsat: 1_500n })).rejects.toThrow(/whole sats/);
    expect(await wallet.lookupPayment('ab'.repeat(32))).toEqual({ state: 'unknown' });
  });
});
