// The challenge check l402kit makes before paying, as a public function (issue 11 item 10).
import { createHash } from 'node:crypto';
import {
  checkChallenge,
  InvoiceMismatchError,
  MalformedInvoiceError,
  OpaqueTokenError,
} from '@l402kit/core';
import { describe, expect, it } from 'vitest';
import { macaroonFor, signInvoice } from './support/crafted-challenge.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('issue 11 item 10: checkChallenge, the macaroon-to-invoice check, is public', () => {
  it('decodes a macaroon bound to its invoice', () => {
    const invoice = signInvoice({ amountMsat: 5_000n });
    const checked = checkChallenge({
      macaroon: macaroonFor(invoice.paymentHash),
      invoice: invoice.invoice,
    });
    expect(checked.invoice.amountMsat).toBe(5_000n);
    expect(checked.macaroon.identifier.paymentHash).toBe(invoice.paymentHash);
  });

  it('refuses a macaroon bound to another payment hash', () => {
    const invoice = signInvoice({ amountMsat: 5_000n });
    const other = createHash('sha256').update('other').digest('hex');
    const error = thrown(() =>
      checkChallenge(
        { macaroon: macaroonFor(other), invoice: invoice.invoice },
        'https://shop.test/a',
      ),
    );
    expect(error).toBeInstanceOf(InvoiceMismatchError);
    expect(error).toMatchObject({ paid: false, url: 'https://shop.test/a' });
  });

  it('says a token that is not a macaroon cannot be checked, naming the server', () => {
    const invoice = signInvoice({ amountMsat: 5_000n });
    // Not base64; and base64 of bytes that are no macaroon.
    for (const token of ['tok_opaque.v1', 'bm90IGEgbWFjYXJvb24=']) {
      const error = thrown(() =>
        checkChallenge({ macaroon: token, invoice: invoice.invoice }, 'https://shop.test/a'),
      );
      expect(error).toBeInstanceOf(OpaqueTokenError);
      expect(error).toMatchObject({ paid: false, paymentHash: invoice.paymentHash });
      expect((error as Error).message).toMatch(
        /^The token sent by shop\.test is not an L402 macaroon .*the invoice cannot be checked against it/,
      );
    }
  });

  it('refuses an unreadable invoice before looking at the token', () => {
    expect(
      thrown(() => checkChallenge({ macaroon: 'tok', invoice: 'lnbc1garbage' })),
    ).toBeInstanceOf(MalformedInvoiceError);
  });
});
