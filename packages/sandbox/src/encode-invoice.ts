import { createHash } from 'node:crypto';
import { MalformedInvoiceError, type Msat } from '@l402kit/core';
import bolt11 from 'bolt11';

// bolt11 needs the bitcoinjs-style network record to write an `lnbcrt` prefix.
const REGTEST = {
  bech32: 'bcrt',
  pubKeyHash: 0x6f,
  scriptHash: 0xc4,
  validWitnessVersions: [0, 1],
};
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

/** Writes and signs a regtest BOLT11 invoice with the payee's key (its public key included). */
export function encodeInvoice(fields: InvoiceFields): string {
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
  const signed = bolt11.sign(unsigned, fields.privateKey);
  if (!signed.paymentRequest) throw new MalformedInvoiceError('bolt11 did not sign the invoice');
  return signed.paymentRequest;
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
