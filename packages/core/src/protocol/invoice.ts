import { decode } from 'bolt11';
import type { Msat } from '../amount.js';
import { MalformedInvoiceError } from '../errors.js';
import type { BitcoinNetwork } from '../wallet.js';

/** A BOLT11 invoice, decoded and with its signature checked. */
export interface DecodedInvoice {
  /** The invoice in lower case, as it should be handed to a wallet. */
  invoice: string;
  network: BitcoinNetwork;
  /** Exact; undefined when the invoice leaves the amount to the payer. */
  amountMsat: Msat | undefined;
  /** 32 bytes, lower-case hex. */
  paymentHash: string;
  createdAt: Date;
  expiresAt: Date;
  expirySeconds: number;
  /** The payee's node public key (33 bytes, hex), recovered from or checked against the signature. */
  payee: string;
  description?: string;
  descriptionHash?: string;
}

// bolt11 knows no signet; the address fields only matter for fallback addresses.
const TESTNET_ADDRESSES = { pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };
const NETWORKS: Record<string, { network: BitcoinNetwork; bolt11: Parameters<typeof decode>[1] }> =
  {
    bc: {
      network: 'bitcoin',
      bolt11: { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, validWitnessVersions: [0, 1] },
    },
    tb: { network: 'testnet', bolt11: { bech32: 'tb', ...TESTNET_ADDRESSES } },
    tbs: { network: 'signet', bolt11: { bech32: 'tbs', ...TESTNET_ADDRESSES } },
    bcrt: { network: 'regtest', bolt11: { bech32: 'bcrt', ...TESTNET_ADDRESSES } },
    sb: {
      network: 'simnet',
      bolt11: { bech32: 'sb', pubKeyHash: 0x3f, scriptHash: 0x7b, validWitnessVersions: [0, 1] },
    },
  };

// Longest prefixes first so that "lnbcrt" is not read as "lnbc" and "lntbs" not as "lntb".
const HUMAN_READABLE_PART = /^ln(bcrt|bc|tbs|tb|sb)(?:(\d+)([munp]?))?$/;
const MSAT_PER_BTC = 100_000_000_000n;
const MULTIPLIER_DIVISORS: Record<string, bigint> = {
  '': 1n,
  m: 1_000n,
  u: 1_000_000n,
  n: 1_000_000_000n,
  p: 1_000_000_000_000n,
};
const MAX_MSAT = 21_000_000n * MSAT_PER_BTC;
const DEFAULT_EXPIRY_SECONDS = 3600;
const LATEST_DATE_MS = 8.64e15;
// secp256k1 group order; BOLT11 signatures must be in lower-S form.
const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HASH_HEX = /^[0-9a-f]{64}$/;
const PUBLIC_KEY_HEX = /^0[23][0-9a-f]{64}$/;

function amountFromHumanReadablePart(
  digits: string | undefined,
  multiplier: string | undefined,
): Msat | undefined {
  if (digits === undefined) return undefined;
  const divisor = MULTIPLIER_DIVISORS[multiplier ?? ''] ?? 1n;
  const numerator = BigInt(digits) * MSAT_PER_BTC;
  // BOLT11: a pico amount that is not a whole msat is invalid; so is any fraction of a msat.
  if (numerator % divisor !== 0n)
    throw new MalformedInvoiceError('invoice amount is not a whole number of millisatoshis');
  const msat = numerator / divisor;
  if (msat === 0n) throw new MalformedInvoiceError('invoice amount is zero');
  if (msat > MAX_MSAT) throw new MalformedInvoiceError('invoice amount exceeds 21 million bitcoin');
  return msat;
}

/**
 * Decodes a BOLT11 invoice with the `bolt11` package and checks it: known network, exact
 * amount, exactly one payment hash, and a lower-S signature that matches the payee key when
 * the invoice declares one. MalformedInvoiceError for anything else. Case-insensitive input.
 */
export function decodeInvoice(invoice: string): DecodedInvoice {
  if (typeof invoice !== 'string' || invoice.trim().length === 0) {
    throw new MalformedInvoiceError('invoice is empty');
  }
  const text = invoice.trim();
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) {
    throw new MalformedInvoiceError('invoice mixes upper and lower case');
  }
  const lower = text.toLowerCase();
  const separator = lower.lastIndexOf('1');
  const match = separator < 0 ? null : HUMAN_READABLE_PART.exec(lower.slice(0, separator));
  const prefix = match?.[1];
  const known = prefix === undefined ? undefined : NETWORKS[prefix];
  if (match === null || known === undefined) {
    throw new MalformedInvoiceError(
      'invoice does not start with a known lightning prefix (lnbc, lntb, lntbs, lnbcrt, lnsb)',
    );
  }
  const amountMsat = amountFromHumanReadablePart(match[2], match[3]);

  let decoded: ReturnType<typeof decode>;
  try {
    decoded = decode(lower, known.bolt11);
  } catch (error) {
    throw new MalformedInvoiceError(`invoice cannot be decoded: ${errorMessage(error)}`, {
      cause: error,
    });
  }

  const paymentHashes = new Set<string>();
  let description: string | undefined;
  let descriptionHash: string | undefined;
  let expirySeconds: number | undefined;
  for (const tag of decoded.tags) {
    const data = tag.data;
    // BOLT11: fields of the wrong length are skipped, not trusted.
    if (tag.tagName === 'payment_hash' && typeof data === 'string' && HASH_HEX.test(data))
      paymentHashes.add(data);
    if (tag.tagName === 'description' && typeof data === 'string') description ??= data;
    if (tag.tagName === 'purpose_commit_hash' && typeof data === 'string' && HASH_HEX.test(data))
      descriptionHash ??= data;
    if (tag.tagName === 'expire_time' && typeof data === 'number') expirySeconds ??= data;
  }
  if (paymentHashes.size !== 1) {
    throw new MalformedInvoiceError(
      paymentHashes.size === 0
        ? 'invoice has no payment hash'
        : 'invoice has more than one payment hash',
    );
  }
  const [paymentHash] = paymentHashes;
  expirySeconds ??= DEFAULT_EXPIRY_SECONDS;
  if (!Number.isSafeInteger(expirySeconds))
    throw new MalformedInvoiceError('invoice expiry is out of range');

  const payee = decoded.payeeNodeKey;
  if (typeof payee !== 'string' || !PUBLIC_KEY_HEX.test(payee)) {
    throw new MalformedInvoiceError('invoice signature does not yield a payee key');
  }
  // bolt11 compares only the first declared payee key with the recovered one; check them all.
  for (const tag of decoded.tags) {
    if (
      tag.tagName === 'payee_node_key' &&
      typeof tag.data === 'string' &&
      tag.data.length === 66 &&
      tag.data !== payee
    ) {
      throw new MalformedInvoiceError('invoice signature does not match its declared payee key');
    }
  }
  const signature = decoded.signature ?? '';
  const s = /^[0-9a-f]{128}$/.test(signature) ? BigInt(`0x${signature.slice(64)}`) : 0n;
  if (s === 0n || s > CURVE_ORDER / 2n) {
    throw new MalformedInvoiceError('invoice signature is not a valid lower-S signature');
  }

  const timestamp = decoded.timestamp;
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp)) {
    throw new MalformedInvoiceError('invoice has no valid timestamp');
  }
  const createdAt = new Date(timestamp * 1000);
  const expiresAt = new Date(Math.min((timestamp + expirySeconds) * 1000, LATEST_DATE_MS));

  return {
    invoice: lower,
    network: known.network,
    amountMsat,
    paymentHash: paymentHash as string,
    createdAt,
    expiresAt,
    expirySeconds,
    payee,
    ...(description === undefined ? {} : { description }),
    ...(descriptionHash === undefined ? {} : { descriptionHash }),
  };
}

/** Expired at or after `expiresAt` (BOLT11: the invoice is valid until timestamp + expiry). */
export function isInvoiceExpired(decoded: DecodedInvoice, now: Date = new Date()): boolean {
  return now.getTime() >= decoded.expiresAt.getTime();
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Keep messages short; bech32 errors can quote the whole input.
  return message.length > 120 ? `${message.slice(0, 117)}...` : message;
}
