import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PaymentFailedError, RequestFailedError } from '@l402kit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createNwcWallet } from './nwc-wallet.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A loopback port nothing listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('an NWC wallet whose relay cannot be reached', () => {
  it('reports a typed error and prints nothing (no raw AggregateError from the SDK)', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    const relay = `ws://127.0.0.1:${await closedPort()}`;
    const wallet = createNwcWallet({
      url: `nostr+walletconnect://${'a'.repeat(64)}?relay=${relay}&secret=${'f'.repeat(64)}`,
      timeoutMs: 10_000,
    });
    try {
      const balance = wallet.getBalance();
      await expect(balance).rejects.toBeInstanceOf(RequestFailedError);
      await expect(balance).rejects.toThrow(`could not reach the wallet service`);
      const payment = wallet.payInvoice({
        invoice: 'lnbcrt1',
        paymentHash: 'b'.repeat(64),
        amountMsat: 1_000n,
        maxFeeMsat: 10n,
        timeoutMs: 10_000,
      });
      await expect(payment).rejects.toBeInstanceOf(PaymentFailedError);
      await expect(payment).rejects.toMatchObject({ paid: false });
    } finally {
      await wallet.close();
    }
    expect(printed).not.toHaveBeenCalled();
  });
});
