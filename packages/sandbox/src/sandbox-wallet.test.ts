import { decodeInvoice, type Wallet } from '@l402kit/core';
import { describe, expect, test } from 'vitest';
import { createSandboxWallet } from './create-sandbox-wallet.js';

describe('a node as a core Wallet', () => {
  test('createSandboxWallet funds a payer that can pay the merchant through its wallet', async () => {
    const { network, payer, merchant, wallet } = createSandboxWallet({ balanceSats: 50 });
    const asWallet: Wallet = wallet;
    expect(asWallet).toBe(payer.wallet);
    expect(wallet.name).toBe('sandbox:payer');
    expect(merchant.wallet.name).toBe('sandbox:merchant');
    expect(wallet.network).toBe('regtest');
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 50_000n });

    const created = await merchant.wallet.createInvoice?.({
      amountMsat: 1_500n,
      description: 'a search',
      expirySeconds: 120,
    });
    expect(created).toBeDefined();
    if (created === undefined) return;
    // A wallet hands out the invoice, never the preimage.
    expect(Object.keys(created).sort()).toEqual(['invoice', 'paymentHash']);
    const decoded = decodeInvoice(created.invoice);
    expect(decoded).toMatchObject({
      amountMsat: 1_500n,
      description: 'a search',
      expirySeconds: 120,
      payee: merchant.publicKey,
    });

    const result = await wallet.payInvoice({
      invoice: created.invoice,
      amountMsat: 1_500n,
      paymentHash: created.paymentHash,
      maxFeeMsat: 0n,
      timeoutMs: 1_000,
    });
    expect(await wallet.lookupPayment?.(created.paymentHash)).toEqual({
      state: 'succeeded',
      preimage: result.preimage,
      feeMsat: 0n,
    });
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 48_500n });
    expect(await merchant.wallet.getBalance?.()).toEqual({ balanceMsat: 1_500n });
    // The payee did not make the payment, so its own lookup knows nothing of it.
    expect(await merchant.wallet.lookupPayment?.(created.paymentHash)).toEqual({
      state: 'unknown',
    });
    expect(network.totalMsat()).toBe(50_000n);
    await wallet.close?.();
  });

  test('network options pass through createSandboxWallet', async () => {
    const { merchant, wallet } = createSandboxWallet({ feeBaseMsat: 1_000n });
    const created = merchant.createInvoice({ amountSats: 1 });
    const result = await wallet.payInvoice({
      invoice: created.invoice,
      amountMsat: 1_000n,
      paymentHash: created.paymentHash,
      maxFeeMsat: 1_000n,
      timeoutMs: 1_000,
    });
    expect(result.feeMsat).toBe(1_000n);
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 100_000_000n - 2_000n });
  });
});
