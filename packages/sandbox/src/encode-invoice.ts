import { createHash } from 'node:crypto';
import { MalformedInvoiceError, type Msat } from '@l402kit/core';
import { bech32 } from 'bech32';
import secp256k1 from 'secp256k1';

/** 21 million BTC: bolt11 refuses to decode anything larger. */
export const MAX_INVOICE_MSAT = 2_100_000_000_000_000_000n;

export interface InvoiceFields {
  privateKey: Buffer;
  /** Written into the invoice so decoders check the signature against it. */
  publicKey: string;
  amountMsat: Msat | undefined;
  paymentHash: string;
  paymentSecret: string;
  description: string;
  expirySeconds: number;
  createdAtSeconds: number;
}

// BOLT11 tag codes (5-bit words).
const TAG_PAYMENT_HASH = 1;
const TAG_PAYMENT_SECRET = 16;
const TAG_DESCRIPTION = 13;
const TAG_EXPIRY = 6;
const TAG_PAYEE = 19;
const TAG_FEATURES = 5;
const TAG_MIN_FINAL_CLTV_EXPIRY = 24;
// var_onion_optin (bit 9) and payment_secret (bit 15) supported, in 4 words, as bolt11 writes.
const FEATURE_WORDS = [1, 0, 16, 0];
const MIN_FINAL_CLTV_EXPIRY = 9;

/** An integer as big-endian 5-bit words, as short as possible ([0] for 0). */
function integerWords(value: number): number[] {
  const words: number[] = [];
  for (let rest = Math.floor(value); rest > 0; rest = Math.floor(rest / 32))
    words.unshift(rest % 32);
  return words.length === 0 ? [0] : words;
}

/** Amount of the human-readable part in its shortest exact unit, as bolt11 writes it. */
function amountPart(amountMsat: Msat | undefined): string {
  if (amountMsat === undefined) return '';
  const text = amountMsat.toString();
  if (text.length > 11 && text.endsWith('0'.repeat(11))) return text.slice(0, -11);
  if (text.length > 8 && text.endsWith('0'.repeat(8))) return `${text.slice(0, -8)}m`;
  if (text.length > 5 && text.endsWith('0'.repeat(5))) return `${text.slice(0, -5)}u`;
  if (text.length > 2 && text.endsWith('00')) return `${text.slice(0, -2)}n`;
  return `${amountMsat * 10n}p`;
}

/** 5-bit words to bytes, the last byte padded with zero bits, as BOLT11 signs them. */
function wordsToBytes(words: readonly number[]): Buffer {
  const bytes = Buffer.alloc(Math.ceil((words.length * 5) / 8));
  let accumulator = 0;
  let bits = 0;
  let index = 0;
  for (const word of words) {
    accumulator = ((accumulator << 5) | word) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[index++] = (accumulator >> bits) & 0xff;
    }
  }
  if (bits > 0) bytes[index] = (accumulator << (8 - bits)) & 0xff;
  return bytes;
}

/**
 * Writes and signs a regtest BOLT11 invoice with the payee's key (its public key included):
 * the fields and defaults the `bolt11` package writes (feature bits, min_final_cltv_expiry 9),
 * byte for byte, signed with libsecp256k1 directly instead of through its object copies.
 */
export function encodeInvoice(fields: InvoiceFields): string {
  const prefix = `lnbcrt${amountPart(fields.amountMsat)}`;
  const words: number[] = integerWords(fields.createdAtSeconds);
  while (words.length < 7) words.unshift(0);
  const tag = (code: number, data: readonly number[]): void => {
    words.push(code, (data.length >> 5) & 31, data.length & 31, ...data);
  };
  tag(TAG_PAYMENT_HASH, bech32.toWords(Buffer.from(fields.paymentHash, 'hex')));
  tag(TAG_PAYMENT_SECRET, bech32.toWords(Buffer.from(fields.paymentSecret, 'hex')));
  tag(TAG_DESCRIPTION, bech32.toWords(Buffer.from(fields.description, 'utf8')));
  tag(TAG_EXPIRY, integerWords(fields.expirySeconds));
  tag(TAG_PAYEE, bech32.toWords(Buffer.from(fields.publicKey, 'hex')));
  tag(TAG_FEATURES, FEATURE_WORDS);
  tag(TAG_MIN_FINAL_CLTV_EXPIRY, integerWords(MIN_FINAL_CLTV_EXPIRY));

  const signed = Buffer.concat([Buffer.from(prefix, 'utf8'), wordsToBytes(words)]);
  const digest = createHash('sha256').update(signed).digest();
  let signature: { signature: Uint8Array; recid: number };
  try {
    signature = secp256k1.ecdsaSign(digest, fields.privateKey);
  } catch (error) {
    throw new MalformedInvoiceError('the sandbox could not sign the invoice', { cause: error });
  }
  const signatureWords = bech32.toWords(
    Buffer.concat([signature.signature, Uint8Array.of(signature.recid)]),
  );
  return bech32.encode(prefix, [...words, ...signatureWords], Number.MAX_SAFE_INTEGER);
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
