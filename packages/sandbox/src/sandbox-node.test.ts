import { createHash, ECDH, verify } from 'node:crypto';
import { decodeInvoice } from '@l402kit/core';
import bolt11 from 'bolt11';
import { describe, expect, test } from 'vitest';
import { createSandboxNetwork } from './sandbox-network.js';

/** bech32 words (5 bits) to bytes, zero-padded on the right as BOLT11 signs them. */
function wordsToBytes(words: number[]): Buffer {
  const bytes: number[] = [];
  let accumulator = 0;
  let bits = 0;
  for (const word of words) {
    accumulator = (accumulator << 5) | word;
    bits += 5;
    while (bits >= 8) {
      bits -= 8;
      bytes.push((accumulator >> bits) & 0xff);
    }
  }
  if (bits > 0) bytes.push((accumulator << (8 - bits)) & 0xff);
  return Buffer.from(bytes);
}

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** Checks a BOLT11 signature with Node's own ECDSA, independently of the bolt11 package. */
function signatureIsValid(invoice: string, publicKey: string): boolean {
  const separator = invoice.lastIndexOf('1');
  const prefix = invoice.slice(0, separator);
  const words = [...invoice.slice(separator + 1, -6)].map((char) => CHARSET.indexOf(char));
  const signatureBytes = wordsToBytes(words.slice(-104)).subarray(0, 64);
  const signed = Buffer.concat([Buffer.from(prefix, 'utf8'), wordsToBytes(words.slice(0, -104))]);
  const point = Buffer.from(
    ECDH.convertKey(publicKey, 'secp256k1', 'hex', 'hex', 'uncompressed') as string,
    'hex',
  );
  const key = {
    kty: 'EC',
    crv: 'secp256k1',
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33).toString('base64url'),
  };
  return verify(
    'sha256',
    signed,
    { key, format: 'jwk', dsaEncoding: 'ieee-p1363' },
    signatureBytes,
  );
}

describe('SandboxNode.createInvoice', () => {
  test('writes a regtest invoice signed with the node key, with the exact msat amount', () => {
    const network = createSandboxNetwork();
    const merchant = network.createNode({ name: 'merchant' });
    const created = merchant.createInvoice({ amountMsat: 1_001n, description: 'one article' });

    expect(created.invoice.startsWith('lnbcrt')).toBe(true);
    const decoded = bolt11.decode(created.invoice);
    expect(decoded.payeeNodeKey).toBe(merchant.publicKey);
    expect(decoded.millisatoshis).toBe('1001');
    expect(decoded.tagsObject.payment_hash).toBe(created.paymentHash);
    expect(decoded.tagsObject.description).toBe('one article');
    expect(decoded.tagsObject.payment_secret).toMatch(/^[0-9a-f]{64}$/);
    expect(decoded.tagsObject.feature_bits?.payment_secret?.supported).toBe(true);
    expect(signatureIsValid(created.invoice, merchant.publicKey)).toBe(true);
    expect(createHash('sha256').update(Buffer.from(created.preimage, 'hex')).digest('hex')).toBe(
      created.paymentHash,
    );
  });

  test('a changed signing message fails the signature check', () => {
    const network = createSandboxNetwork();
    const merchant = network.createNode();
    const other = network.createNode();
    const { invoice } = merchant.createInvoice({ amountSats: 10 });
    expect(signatureIsValid(invoice, other.publicKey)).toBe(false);
  });

  test("core's decodeInvoice reads amount, hash, payee, times and network", () => {
    let now = 1_700_000_000_500;
    const network = createSandboxNetwork({ now: () => now });
    const merchant = network.createNode();
    const created = merchant.createInvoice({ amountSats: 21, expirySeconds: 60 });
    now += 1;
    const decoded = decodeInvoice(created.invoice);
    expect(decoded).toMatchObject({
      network: 'regtest',
      amountMsat: 21_000n,
      paymentHash: created.paymentHash,
      payee: merchant.publicKey,
      description: '',
      expirySeconds: 60,
    });
    expect(decoded.createdAt.getTime()).toBe(1_700_000_000_000);
    expect(decoded.expiresAt.getTime()).toBe(1_700_000_060_000);
  });

  test('each invoice has its own preimage and payment secret', () => {
    const merchant = createSandboxNetwork().createNode();
    const first = merchant.createInvoice({ amountMsat: 5n });
    const second = merchant.createInvoice({ amountMsat: 5n });
    expect(first.preimage).not.toBe(second.preimage);
    expect(bolt11.decode(first.invoice).tagsObject.payment_secret).not.toBe(
      bolt11.decode(second.invoice).tagsObject.payment_secret,
    );
  });

  test('amountless invoices have no amount; bad amounts and expiries are refused', () => {
    const merchant = createSandboxNetwork().createNode();
    expect(decodeInvoice(merchant.createInvoice().invoice).amountMsat).toBeUndefined();
    expect(() => merchant.createInvoice({ amountMsat: 0n })).toThrow(RangeError);
    expect(() => merchant.createInvoice({ amountMsat: 1000n, amountSats: 2 })).toThrow(RangeError);
    expect(() => merchant.createInvoice({ amountMsat: 1n, expirySeconds: 0 })).toThrow(RangeError);
    expect(() => merchant.createInvoice({ amountMsat: 1n, description: 'x'.repeat(640) })).toThrow(
      RangeError,
    );
    expect(merchant.createInvoice({ amountMsat: 2000n, amountSats: 2 }).invoice).toMatch(/^lnbcrt/);
  });
});

describe('createNode', () => {
  test('funds nodes in sats or msat and refuses duplicate names', () => {
    const network = createSandboxNetwork();
    const alice = network.createNode({ name: 'alice', balanceSats: 2 });
    const bob = network.createNode({ balanceMsat: 1_234n });
    expect(alice.balanceMsat).toBe(2_000n);
    expect(bob.balanceMsat).toBe(1_234n);
    expect(bob.name).toBe('node-2');
    expect(alice.publicKey).toMatch(/^0[23][0-9a-f]{64}$/);
    expect(alice.publicKey).not.toBe(bob.publicKey);
    expect(network.fundedMsat).toBe(3_234n);
    expect(network.totalMsat()).toBe(3_234n);
    expect(network.nodes).toEqual([alice, bob]);
    expect(() => network.createNode({ name: 'alice' })).toThrow(RangeError);
    expect(() => network.createNode({ balanceMsat: -1n })).toThrow(RangeError);
  });
});
