import { createHash } from 'node:crypto';
import {
  AmountlessInvoiceError,
  InsufficientBalanceError,
  InvoiceAlreadyPaidError,
  InvoiceExpiredError,
  InvoiceMismatchError,
  L402Error,
  MalformedInvoiceError,
  NetworkMismatchError,
  NoRouteError,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
} from '@l402kit/core';
import bolt11 from 'bolt11';
import fc from 'fast-check';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createSandboxNetwork, type SandboxNetworkOptions } from './sandbox-network.js';
import { pay } from './test-helpers.js';

function sha256(hex: string): string {
  return createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');
}

function setup(options: SandboxNetworkOptions = {}, balanceMsat = 10_000_000n) {
  const network = createSandboxNetwork(options);
  const payer = network.createNode({ name: 'payer', balanceMsat });
  const merchant = network.createNode({ name: 'merchant' });
  return { network, payer, merchant };
}

/** Balances as a plain record, to show that a refused payment changed nothing. */
function snapshot(network: ReturnType<typeof setup>['network']) {
  return {
    balances: network.nodes.map((node) => node.balanceMsat),
    fees: network.feesCollectedMsat,
    pending: network.pendingMsat,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('paying', () => {
  test.each([1n, 7n, 999n, 1_001n, 12_345n, 1_000_001n])(
    'moves exactly %s msat plus the rounded-up fee',
    async (amountMsat) => {
      const feeBaseMsat = 1_001n;
      const feeRatePpm = 1_234;
      const { network, payer, merchant } = setup({ feeBaseMsat, feeRatePpm });
      const created = merchant.createInvoice({ amountMsat });

      const result = await pay(payer, created, amountMsat);

      // The proportional part is the smallest whole msat not below amount * ppm / 1e6.
      const proportional = result.feeMsat - feeBaseMsat;
      expect(proportional * 1_000_000n >= amountMsat * 1_234n).toBe(true);
      expect((proportional - 1n) * 1_000_000n < amountMsat * 1_234n).toBe(true);
      expect(sha256(result.preimage)).toBe(created.paymentHash);
      expect(result.preimage).toBe(created.preimage);
      expect(payer.balanceMsat).toBe(10_000_000n - amountMsat - result.feeMsat);
      expect(merchant.balanceMsat).toBe(amountMsat);
      expect(network.feesCollectedMsat).toBe(result.feeMsat);
      expect(network.totalMsat()).toBe(network.fundedMsat);
      expect(network.payments).toMatchObject([
        {
          payer: 'payer',
          payee: 'merchant',
          amountMsat,
          feeMsat: result.feeMsat,
          paymentHash: created.paymentHash,
          state: 'succeeded',
        },
      ]);
    },
  );

  test('with no fees configured the fee is zero', async () => {
    const { payer, merchant } = setup();
    const created = merchant.createInvoice({ amountSats: 3 });
    expect(await pay(payer, created, 3_000n, { maxFeeMsat: 0n })).toMatchObject({ feeMsat: 0n });
  });

  test('a fee exactly at the limit is paid; one msat over is refused with nothing moved', async () => {
    const { network, payer, merchant } = setup({ feeBaseMsat: 10n, feeRatePpm: 10_000 });
    const within = merchant.createInvoice({ amountMsat: 1_000n });
    expect((await pay(payer, within, 1_000n, { maxFeeMsat: 20n })).feeMsat).toBe(20n);

    const over = merchant.createInvoice({ amountMsat: 1_001n });
    const before = snapshot(network);
    const error = await pay(payer, over, 1_001n, { maxFeeMsat: 20n }).catch((caught) => caught);
    expect(error).toBeInstanceOf(NoRouteError);
    expect(error.message).toMatch(/fee limit/);
    expect(error.paid).toBe(false);
    expect(snapshot(network)).toEqual(before);
    expect(network.payments.at(-1)).toMatchObject({ state: 'failed', failureCode: 'NO_ROUTE' });
  });

  test('insufficient balance, counting the fee, leaves every balance untouched', async () => {
    const { network, payer, merchant } = setup({ feeBaseMsat: 1n }, 1_000n);
    const created = merchant.createInvoice({ amountMsat: 1_000n });
    const before = snapshot(network);
    await expect(pay(payer, created, 1_000n)).rejects.toBeInstanceOf(InsufficientBalanceError);
    expect(snapshot(network)).toEqual(before);
    expect(network.payments[0]).toMatchObject({
      state: 'failed',
      failureCode: 'INSUFFICIENT_BALANCE',
    });

    const smaller = merchant.createInvoice({ amountMsat: 999n });
    await pay(payer, smaller, 999n);
    expect(payer.balanceMsat).toBe(0n);
  });

  test('an invoice is paid once; a second payment by anyone is refused', async () => {
    const { network, payer, merchant } = setup();
    const other = network.createNode({ name: 'other', balanceSats: 10 });
    const created = merchant.createInvoice({ amountMsat: 500n });
    await pay(payer, created, 500n);
    const before = snapshot(network);
    await expect(pay(payer, created, 500n)).rejects.toBeInstanceOf(InvoiceAlreadyPaidError);
    await expect(pay(other, created, 500n)).rejects.toBeInstanceOf(InvoiceAlreadyPaidError);
    expect(snapshot(network)).toEqual(before);
    expect(merchant.balanceMsat).toBe(500n);
    // The payer's own lookup still reports its earlier success.
    expect(await payer.wallet.lookupPayment?.(created.paymentHash)).toMatchObject({
      state: 'succeeded',
      preimage: created.preimage,
    });
  });

  test('aborted before sending: PaymentFailedError and nothing moves', async () => {
    const { network, payer, merchant } = setup();
    const created = merchant.createInvoice({ amountMsat: 500n });
    const controller = new AbortController();
    controller.abort();
    const error = await pay(payer, created, 500n, { signal: controller.signal }).catch(
      (caught) => caught,
    );
    expect(error).toBeInstanceOf(PaymentFailedError);
    expect(error.code).toBe('PAYMENT_FAILED');
    expect(error.paid).toBe(false);
    expect(payer.balanceMsat).toBe(10_000_000n);
    expect(merchant.balanceMsat).toBe(0n);
    expect(network.payments[0]).toMatchObject({ state: 'failed', failureCode: 'PAYMENT_FAILED' });
    // Not paid, so the invoice can still be paid.
    await pay(payer, created, 500n);
    expect(merchant.balanceMsat).toBe(500n);
  });
});

describe('invoices the payer refuses', () => {
  test('garbage and tampered invoices are malformed', async () => {
    const { network, payer, merchant } = setup();
    const created = merchant.createInvoice({ amountMsat: 500n });
    const tampered = {
      ...created,
      invoice: `${created.invoice.slice(0, 30)}${created.invoice[30] === 'q' ? 'p' : 'q'}${created.invoice.slice(31)}`,
    };
    await expect(
      pay(payer, { ...created, invoice: 'lnbcrt1garbage' }, 500n),
    ).rejects.toBeInstanceOf(MalformedInvoiceError);
    await expect(pay(payer, tampered, 500n)).rejects.toBeInstanceOf(MalformedInvoiceError);
    expect(network.payments).toHaveLength(0);
  });

  test('a changed invoice is refused with a typed error and moves nothing', async () => {
    const { network, payer, merchant } = setup();
    const created = merchant.createInvoice({ amountMsat: 500n });
    const bech32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
    await fc.assert(
      fc.asyncProperty(
        fc.nat(created.invoice.length - 1),
        fc.constantFrom(...bech32),
        async (position, char) => {
          fc.pre(created.invoice[position] !== char);
          const invoice =
            created.invoice.slice(0, position) + char + created.invoice.slice(position + 1);
          const error = await pay(payer, { ...created, invoice }, 500n).catch((caught) => caught);
          expect(error).toBeInstanceOf(L402Error);
          expect(error.paid).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
    expect(merchant.balanceMsat).toBe(0n);
    expect(network.payments).toHaveLength(0);
  });

  test('amountless, expired, mismatched and foreign-network invoices', async () => {
    let now = 1_700_000_000_000;
    const { payer, merchant } = setup({ now: () => now });
    const amountless = merchant.createInvoice();
    await expect(pay(payer, amountless, 1n)).rejects.toBeInstanceOf(AmountlessInvoiceError);

    const expiring = merchant.createInvoice({ amountMsat: 10n, expirySeconds: 60 });
    now += 59_999;
    const mismatch = await pay(payer, expiring, 11n).catch((caught) => caught);
    expect(mismatch).toBeInstanceOf(InvoiceMismatchError);
    await expect(
      pay(payer, { ...expiring, paymentHash: '00'.repeat(32) }, 10n),
    ).rejects.toBeInstanceOf(InvoiceMismatchError);
    now += 1;
    await expect(pay(payer, expiring, 10n)).rejects.toBeInstanceOf(InvoiceExpiredError);

    const mainnet = bolt11.sign(
      bolt11.encode({
        millisatoshis: '10',
        tags: [
          { tagName: 'payment_hash', data: '11'.repeat(32) },
          { tagName: 'description', data: '' },
        ],
      }),
      '22'.repeat(32),
    ).paymentRequest as string;
    await expect(
      pay(payer, { invoice: mainnet, paymentHash: '11'.repeat(32), preimage: '' }, 10n),
    ).rejects.toBeInstanceOf(NetworkMismatchError);
    expect(payer.balanceMsat).toBe(10_000_000n);
  });

  test('a payee outside the network, or the payer itself, has no route', async () => {
    const { network, payer, merchant } = setup();
    const elsewhere = createSandboxNetwork().createNode().createInvoice({ amountMsat: 10n });
    await expect(pay(payer, elsewhere, 10n)).rejects.toBeInstanceOf(NoRouteError);
    const own = payer.createInvoice({ amountMsat: 10n });
    await expect(pay(payer, own, 10n)).rejects.toBeInstanceOf(NoRouteError);
    expect(network.payments.map((payment) => [payment.payee, payment.failureCode])).toEqual([
      [undefined, 'NO_ROUTE'],
      ['payer', 'NO_ROUTE'],
    ]);
    expect(merchant.balanceMsat).toBe(0n);
    expect(network.totalMsat()).toBe(network.fundedMsat);
  });
});

describe('latency', () => {
  test('a slow payment keeps its money locked until it settles', async () => {
    vi.useFakeTimers();
    const { network, payer, merchant } = setup({ latencyMs: 50, feeBaseMsat: 3n });
    const created = merchant.createInvoice({ amountMsat: 100n });
    const paying = pay(payer, created, 100n);
    expect(network.pendingMsat).toBe(103n);
    expect(payer.balanceMsat).toBe(10_000_000n - 103n);
    expect(merchant.balanceMsat).toBe(0n);
    expect(await payer.wallet.lookupPayment?.(created.paymentHash)).toEqual({ state: 'pending' });
    expect(network.totalMsat()).toBe(network.fundedMsat);

    await vi.advanceTimersByTimeAsync(50);
    expect(await paying).toEqual({ preimage: created.preimage, feeMsat: 3n });
    expect(network.pendingMsat).toBe(0n);
    expect(merchant.balanceMsat).toBe(100n);
  });

  test('a payer that times out first sees an unknown outcome; the payment still settles', async () => {
    vi.useFakeTimers();
    const { network, payer, merchant } = setup({ latencyMs: 50 });
    const created = merchant.createInvoice({ amountMsat: 100n });
    const paying = pay(payer, created, 100n, { timeoutMs: 10 }).catch((caught) => caught);
    await vi.advanceTimersByTimeAsync(10);
    const error = await paying;
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(error.paid).toBe('unknown');
    expect(error.amountMsat).toBe(100n);
    await vi.advanceTimersByTimeAsync(40);
    expect(merchant.balanceMsat).toBe(100n);
    expect(await payer.wallet.lookupPayment?.(created.paymentHash)).toMatchObject({
      state: 'succeeded',
    });
    expect(network.totalMsat()).toBe(network.fundedMsat);
  });
});
