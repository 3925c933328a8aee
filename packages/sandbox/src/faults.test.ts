import { createHash } from 'node:crypto';
import {
  InsufficientBalanceError,
  InvoiceAlreadyPaidError,
  NoRouteError,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
} from '@l402kit/core';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createSandboxNetwork } from './sandbox-network.js';
import { pay } from './test-helpers.js';

function setup() {
  const network = createSandboxNetwork({ feeBaseMsat: 2n });
  const payer = network.createNode({ name: 'payer', balanceMsat: 1_000_000n });
  const merchant = network.createNode({ name: 'merchant' });
  return { network, payer, merchant };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('refusal faults', () => {
  test.each([
    ['no-route', NoRouteError, 'NO_ROUTE'],
    ['insufficient-balance', InsufficientBalanceError, 'INSUFFICIENT_BALANCE'],
    ['already-paid', InvoiceAlreadyPaidError, 'INVOICE_ALREADY_PAID'],
  ] as const)(
    '%s refuses the next payment with nothing moved, then is used up',
    async (kind, errorClass, code) => {
      const { network, payer, merchant } = setup();
      const fault = network.injectFault({ kind });
      const created = merchant.createInvoice({ amountMsat: 100n });

      const error = await pay(payer, created, 100n).catch((caught) => caught);
      expect(error).toBeInstanceOf(errorClass);
      expect(error.paid).toBe(false);
      expect(payer.balanceMsat).toBe(1_000_000n);
      expect(network.payments[0]).toMatchObject({
        state: 'failed',
        failureCode: code,
        fault: kind,
      });
      expect(fault).toMatchObject({ hits: 1, remaining: 0 });

      await pay(payer, created, 100n);
      expect(merchant.balanceMsat).toBe(100n);
    },
  );

  test('match picks the payments a fault hits; times counts them', async () => {
    const { network, payer, merchant } = setup();
    const target = merchant.createInvoice({ amountMsat: 10n });
    const bystander = merchant.createInvoice({ amountMsat: 20n });
    network.injectFault({
      kind: 'no-route',
      match: ({ paymentHash }) => paymentHash === target.paymentHash,
      times: 2,
    });
    await expect(pay(payer, target, 10n)).rejects.toBeInstanceOf(NoRouteError);
    await pay(payer, bystander, 20n);
    await expect(pay(payer, target, 10n)).rejects.toBeInstanceOf(NoRouteError);
    await pay(payer, target, 10n);
    expect(merchant.balanceMsat).toBe(30n);
  });

  test('a fault can be removed, or last forever', async () => {
    const { network, payer, merchant } = setup();
    const forever = network.injectFault({ kind: 'no-route', times: Number.POSITIVE_INFINITY });
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(
        pay(payer, merchant.createInvoice({ amountMsat: 1n }), 1n),
      ).rejects.toBeInstanceOf(NoRouteError);
    }
    expect(forever.hits).toBe(3);
    forever.remove();
    await pay(payer, merchant.createInvoice({ amountMsat: 1n }), 1n);
    expect(merchant.balanceMsat).toBe(1n);
  });

  test("a node's fault hits only that node's payments", async () => {
    const { network, payer, merchant } = setup();
    const other = network.createNode({ name: 'other', balanceMsat: 1_000n });
    payer.injectFault({ kind: 'insufficient-balance', times: 2 });
    await pay(other, merchant.createInvoice({ amountMsat: 5n }), 5n);
    await expect(pay(payer, merchant.createInvoice({ amountMsat: 5n }), 5n)).rejects.toBeInstanceOf(
      InsufficientBalanceError,
    );
    expect(merchant.balanceMsat).toBe(5n);
  });
});

describe('hanging payments', () => {
  test('hang-then-settle: unknown to the payer, pending, then settled with the preimage', async () => {
    vi.useFakeTimers();
    const { network, payer, merchant } = setup();
    network.injectFault({ kind: 'hang-then-settle' });
    const created = merchant.createInvoice({ amountMsat: 100n });

    const paying = pay(payer, created, 100n, { timeoutMs: 1_000 }).catch((caught) => caught);
    await vi.advanceTimersByTimeAsync(1_000);
    const error = await paying;
    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(error).toMatchObject({ paid: 'unknown', amountMsat: 102n, feeMsat: 2n });
    expect(await payer.wallet.lookupPayment?.(created.paymentHash)).toEqual({ state: 'pending' });
    expect(payer.balanceMsat).toBe(1_000_000n - 102n);
    expect(merchant.balanceMsat).toBe(0n);
    expect(network.pendingMsat).toBe(102n);
    expect(network.totalMsat()).toBe(network.fundedMsat);
    // Another attempt while it is in flight is refused without moving money.
    await expect(pay(payer, created, 100n)).rejects.toBeInstanceOf(PaymentFailedError);
    expect(network.pendingMsat).toBe(102n);

    expect(network.resolvePending()).toMatchObject([
      { state: 'succeeded', fault: 'hang-then-settle' },
    ]);
    const status = await payer.wallet.lookupPayment?.(created.paymentHash);
    expect(status).toEqual({ state: 'succeeded', preimage: created.preimage, feeMsat: 2n });
    expect(createHash('sha256').update(Buffer.from(created.preimage, 'hex')).digest('hex')).toBe(
      created.paymentHash,
    );
    expect(merchant.balanceMsat).toBe(100n);
    expect(network.feesCollectedMsat).toBe(2n);
    expect(network.pendingMsat).toBe(0n);
    expect(network.totalMsat()).toBe(network.fundedMsat);
  });

  test('hang-then-fail: pending, then failed with the money back and the invoice payable again', async () => {
    const { network, payer, merchant } = setup();
    network.injectFault({ kind: 'hang-then-fail' });
    const created = merchant.createInvoice({ amountMsat: 100n });
    const controller = new AbortController();

    const paying = pay(payer, created, 100n, { signal: controller.signal }).catch(
      (caught) => caught,
    );
    controller.abort();
    expect(await paying).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(await payer.wallet.lookupPayment?.(created.paymentHash)).toEqual({ state: 'pending' });
    expect(payer.balanceMsat).toBe(1_000_000n - 102n);

    network.resolvePending(created.paymentHash);
    expect(await payer.wallet.lookupPayment?.(created.paymentHash)).toMatchObject({
      state: 'failed',
    });
    expect(payer.balanceMsat).toBe(1_000_000n);
    expect(network.payments[0]).toMatchObject({
      state: 'failed',
      feeMsat: 0n,
      fault: 'hang-then-fail',
    });

    await pay(payer, created, 100n);
    expect(merchant.balanceMsat).toBe(100n);
    expect(await payer.wallet.lookupPayment?.(created.paymentHash)).toMatchObject({
      state: 'succeeded',
    });
  });

  test('a payer still waiting gets the outcome when the payment is settled or failed', async () => {
    const { network, payer, merchant } = setup();
    network.injectFault({ kind: 'hang-then-fail', times: 2 });
    const first = merchant.createInvoice({ amountMsat: 10n });
    const second = merchant.createInvoice({ amountMsat: 20n });
    const payingFirst = pay(payer, first, 10n);
    const payingSecond = pay(payer, second, 20n).catch((caught) => caught);

    // settlePending and failPending override what the fault planned.
    expect(network.settlePending(first.paymentHash)).toHaveLength(1);
    expect(await payingFirst).toEqual({ preimage: first.preimage, feeMsat: 2n });
    expect(network.failPending()).toHaveLength(1);
    const error = await payingSecond;
    expect(error).toBeInstanceOf(PaymentFailedError);
    expect(error.paid).toBe(false);
    expect(merchant.balanceMsat).toBe(10n);
    expect(network.settlePending()).toEqual([]);
  });

  test('resolveAfterMs settles a hung payment on its own', async () => {
    vi.useFakeTimers();
    const { network, payer, merchant } = setup();
    network.injectFault({ kind: 'hang-then-settle', resolveAfterMs: 5_000 });
    const created = merchant.createInvoice({ amountMsat: 100n });
    const paying = pay(payer, created, 100n, { timeoutMs: 1_000 }).catch((caught) => caught);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await paying).toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(merchant.balanceMsat).toBe(0n);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(merchant.balanceMsat).toBe(100n);
    expect(await payer.wallet.lookupPayment?.(created.paymentHash)).toMatchObject({
      state: 'succeeded',
    });
  });

  test('a hang fault is not used up by a payment refused before sending', async () => {
    const { network, payer, merchant } = setup();
    const fault = network.injectFault({ kind: 'hang-then-settle' });
    const tooBig = merchant.createInvoice({ amountMsat: 2_000_000n });
    await expect(pay(payer, tooBig, 2_000_000n)).rejects.toBeInstanceOf(InsufficientBalanceError);
    expect(fault.hits).toBe(0);
    const paying = pay(payer, merchant.createInvoice({ amountMsat: 1n }), 1n);
    expect(fault.hits).toBe(1);
    network.resolvePending();
    await paying;
  });
});
