import { createHash } from 'node:crypto';
import {
  type BitcoinNetwork,
  MalformedInvoiceError,
  type Msat,
  NetworkMismatchError,
} from '@l402kit/core';
import bolt11 from 'bolt11';

// bolt11 needs the bitcoinjs-style network record to write an `lnbcrt` prefix.
const REGTEST = {
  bech32: 'bcrt',
  pubKeyHash: 0x6f,
  scriptHash: 0xc4,
  validWitnessVersions: [0, 1],
};
const NETWORK_BY_PREFIX: Record<string, BitcoinNetwork> = {
  bc: 'bitcoin',
  tb: 'testnet',
  tbs: 'signet',
  bcrt: 'regtest',
  sb: 'simnet',
};
/** BOLT11's default when an invoice carries no expiry field. */
const DEFAULT_EXPIRY_SECONDS = 3600;
/** 21 million BTC: bolt11 refuses to decode anything larger. */
export const MAX_INVOICE_MSAT = 2_100_000_000_000_000_000n;

export interface InvoiceFields {
  privateKey: Buffer;
  amountMsat: Msat | undefined;
  paymentHash: string;
  paymentSecret: string;
  description: string;
  expirySeconds: number;
  createdAtSeconds: number;
}

/** Writes and signs a regtest BOLT11 invoice with the payee's key (payee pubkey included). */
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
    ],
  });
  const signed = bolt11.sign(unsigned, fields.privateKey);
  if (!signed.paymentRequest) throw new MalformedInvoiceError('bolt11 did not sign the invoice');
  return signed.paymentRequest;
}

export interface DecodedSandboxInvoice {
  network: BitcoinNetwork;
  amountMsat: Msat | undefined;
  paymentHash: string;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds. */
  expiresAt: number;
  /** Node public key recovered from the signature (hex, compressed). */
  payee: string;
  description: string | undefined;
}

/**
 * Decodes an invoice and checks its signature: bolt11 recovers the signing key and refuses an
 * invoice whose payee field names another key; the payer then only pays a node it knows by
 * that key, so a tampered invoice can never reach a node.
 */
export function decodeInvoice(invoice: string): DecodedSandboxInvoice {
  let decoded: ReturnType<typeof bolt11.decode>;
  try {
    decoded = bolt11.decode(invoice);
  } catch (error) {
    throw new MalformedInvoiceError(
      `not a valid BOLT11 invoice: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const prefix = decoded.network?.bech32 ?? '';
  const network = NETWORK_BY_PREFIX[prefix];
  if (network === undefined) {
    throw new NetworkMismatchError(`invoice is for an unknown network (prefix ln${prefix})`);
  }
  const paymentHash = decoded.tagsObject.payment_hash;
  if (paymentHash === undefined || !/^[0-9a-f]{64}$/.test(paymentHash) || !decoded.payeeNodeKey) {
    throw new MalformedInvoiceError('invoice has no valid payment hash');
  }
  const createdAt = decoded.timestamp ?? 0;
  return {
    network,
    amountMsat: decoded.millisatoshis ? BigInt(decoded.millisatoshis) : undefined,
    paymentHash,
    createdAt,
    expiresAt: decoded.timeExpireDate ?? createdAt + DEFAULT_EXPIRY_SECONDS,
    payee: decoded.payeeNodeKey,
    description: decoded.tagsObject.description,
  };
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
