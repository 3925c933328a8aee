import {
  type DecodedInvoice,
  decodeInvoice,
  type PayInvoiceRequest,
  type PaymentStatus,
} from '@l402kit/core';
import fc from 'fast-check';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { InvoiceCache } from './invoice-cache.js';
import { createSandboxNetwork } from './sandbox-network.js';
import { type NodeNetwork, SandboxNodeImplementation } from './sandbox-node.js';
import { pay } from './test-helpers.js';

// Counts decodes while keeping the real decoder.
vi.mock('@l402kit/core', async (importOriginal) => {
  const core = await importOriginal<typeof import('@l402kit/core')>();
  return { ...core, decodeInvoice: vi.fn(core.decodeInvoice) };
});
const decodes = vi.mocked(decodeInvoice);

afterEach(() => {
  decodes.mockClear();
});

/** A node whose network only records what the node tells it about the invoices it signs. */
function recordingNode(now: () => number) {
  const remembered: DecodedInvoice[] = [];
  const refuse = (): never => {
    throw new Error('not used here');
  };
  const network: NodeNetwork = {
    now,
    pay: (_payer: SandboxNodeImplementation, _request: PayInvoiceRequest) => refuse(),
    lookupPayment: (): PaymentStatus => refuse(),
    injectFault: () => refuse(),
    rememberInvoice: (decoded) => remembered.push(decoded),
  };
  return { node: new SandboxNodeImplementation(network, 'merchant', 0n), remembered };
}

describe('the invoices a sandbox node remembers', () => {
  test('are exactly what decoding the signed invoice reads', () => {
    fc.assert(
      fc.property(
        fc.option(fc.bigInt({ min: 1n, max: 2_100_000_000_000_000_000n }), { nil: undefined }),
        fc.string({ unit: 'grapheme', maxLength: 100 }),
        fc.oneof(
          fc.integer({ min: 1, max: 2 ** 31 }),
          fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        ),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        (amountMsat, description, expirySeconds, nowMs) => {
          fc.pre(Buffer.byteLength(description) <= 639);
          const { node, remembered } = recordingNode(() => nowMs);
          let created: { invoice: string };
          try {
            created = node.createInvoice({
              ...(amountMsat === undefined ? {} : { amountMsat }),
              description,
              expirySeconds,
            });
          } catch (error) {
            // No invoice ends after the last date JavaScript knows.
            expect(error).toBeInstanceOf(RangeError);
            expect(nowMs + expirySeconds * 1000).toBeGreaterThan(8.64e15);
            fc.pre(false);
            return;
          }
          expect(remembered).toHaveLength(1);
          expect(remembered[0]).toStrictEqual(decodeInvoice(created.invoice));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('paying from the cache', () => {
  test('an invoice the network minted is paid without being decoded again', async () => {
    const network = createSandboxNetwork();
    const merchant = network.createNode({ name: 'merchant' });
    const payer = network.createNode({ name: 'payer', balanceSats: 1_000 });
    const invoices = Array.from({ length: 5 }, () =>
      merchant.createInvoice({ amountMsat: 10_000n }),
    );
    decodes.mockClear();
    for (const invoice of invoices) await pay(payer, invoice, 10_000n);
    expect(decodes).not.toHaveBeenCalled();
    expect(network.payments.map((payment) => payment.state)).toEqual(Array(5).fill('succeeded'));
  });

  test('text the network did not mint is decoded and checked as before', async () => {
    const network = createSandboxNetwork();
    const merchant = network.createNode({ name: 'merchant' });
    const payer = network.createNode({ name: 'payer', balanceSats: 1_000 });
    const invoice = merchant.createInvoice({ amountMsat: 10_000n });
    decodes.mockClear();
    // The same invoice in upper case is the same payment request, read by the decoder.
    await pay(payer, { ...invoice, invoice: invoice.invoice.toUpperCase() }, 10_000n);
    expect(decodes).toHaveBeenCalledTimes(1);
    expect(network.payments[0]?.state).toBe('succeeded');
  });

  test('keeps at most its capacity, the oldest leaving first', () => {
    const network = createSandboxNetwork();
    const merchant = network.createNode({ name: 'merchant' });
    const [first, second, third] = [1n, 2n, 3n].map((amountMsat) =>
      merchant.createInvoice({ amountMsat }),
    ) as unknown as [{ invoice: string }, { invoice: string }, { invoice: string }];
    const cache = new InvoiceCache(2);
    for (const { invoice } of [first, second, third]) cache.remember(decodeInvoice(invoice));
    expect(cache.size).toBe(2);
    decodes.mockClear();
    expect(cache.decode(third.invoice).amountMsat).toBe(3n);
    expect(cache.decode(second.invoice).amountMsat).toBe(2n);
    expect(decodes).not.toHaveBeenCalled();
    expect(cache.decode(first.invoice).amountMsat).toBe(1n);
    expect(decodes).toHaveBeenCalledTimes(1);
  });
});
