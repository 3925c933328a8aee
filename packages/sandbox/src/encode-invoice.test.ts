import { randomBytes } from 'node:crypto';
import bolt11 from 'bolt11';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { encodeInvoice, type InvoiceFields, MAX_INVOICE_MSAT } from './encode-invoice.js';

const REGTEST = {
  bech32: 'bcrt',
  pubKeyHash: 0x6f,
  scriptHash: 0xc4,
  validWitnessVersions: [0, 1],
};

/** The invoice the `bolt11` package writes and signs for the same fields (the old encoder). */
function bolt11Invoice(fields: InvoiceFields): string {
  const unsigned = bolt11.encode({
    network: REGTEST,
    ...(fields.amountMsat === undefined ? {} : { millisatoshis: fields.amountMsat.toString() }),
    timestamp: fields.createdAtSeconds,
    tags: [
      { tagName: 'payment_hash', data: fields.paymentHash },
      { tagName: 'payment_secret', data: fields.paymentSecret },
      { tagName: 'description', data: fields.description },
      { tagName: 'expire_time', data: fields.expirySeconds },
      { tagName: 'payee_node_key', data: fields.publicKey },
    ],
  });
  return bolt11.sign(unsigned, fields.privateKey).paymentRequest as string;
}

describe('encodeInvoice', () => {
  test('writes exactly what the bolt11 package writes and signs, for any fields', () => {
    const keys = Array.from({ length: 4 }, () => {
      // A valid secp256k1 private key (below the group order) with its public key from bolt11.
      const key = randomBytes(32);
      key[0] = key[0]! & 0x7f;
      const publicKey = bolt11.sign(
        bolt11.encode({
          network: REGTEST,
          timestamp: 1,
          tags: [{ tagName: 'payment_hash', data: '00'.repeat(32) }],
        }),
        key,
      ).payeeNodeKey as string;
      return { key, publicKey };
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...keys),
        fc.option(fc.bigInt({ min: 1n, max: MAX_INVOICE_MSAT }), { nil: undefined }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.string({ unit: 'grapheme', maxLength: 120 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 2 ** 34 }),
        (key, amountMsat, hash, secret, description, expirySeconds, createdAtSeconds) => {
          fc.pre(Buffer.byteLength(description) <= 639);
          const fields: InvoiceFields = {
            privateKey: key.key,
            publicKey: key.publicKey,
            amountMsat,
            paymentHash: Buffer.from(hash).toString('hex'),
            paymentSecret: Buffer.from(secret).toString('hex'),
            description,
            expirySeconds,
            createdAtSeconds,
          };
          expect(encodeInvoice(fields)).toBe(bolt11Invoice(fields));
        },
      ),
      { numRuns: 300 },
    );
  });
});
