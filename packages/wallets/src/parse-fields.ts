import { type Msat, RequestFailedError } from '@l402kit/core';

const PREIMAGE_HEX = /^[0-9a-fA-F]{64}$/;
const WHOLE_NUMBER = /^-?\d+$/;

/**
 * Reads an amount a backend reported: an integer number, a decimal string (LND's int64 fields)
 * or Core Lightning's older "123msat" form. Undefined for anything else, so callers decide
 * whether a missing amount is an error.
 */
export function parseMsat(value: unknown): Msat | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  }
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string') {
    const text = value.endsWith('msat') ? value.slice(0, -4) : value;
    return WHOLE_NUMBER.test(text) ? BigInt(text) : undefined;
  }
  return undefined;
}

/** A 32-byte preimage or hash as lower-case hex, or undefined when the value is not one. */
export function parseHash(value: unknown): string | undefined {
  return typeof value === 'string' && PREIMAGE_HEX.test(value) ? value.toLowerCase() : undefined;
}

/** A caller's payment hash argument, lower-cased, or a typed error (no wallet was asked). */
export function requireHash(paymentHash: string): string {
  const hash = parseHash(paymentHash);
  if (hash === undefined) throw new RequestFailedError('payment hash must be 64 hex characters');
  return hash;
}

/** LND sends bytes fields as standard base64. */
export function base64ToHex(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  const hex = Buffer.from(value, 'base64').toString('hex');
  return hex.length === 64 ? hex : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, single-line excerpt of what a backend said, for error messages. */
export function excerpt(text: unknown, limit = 200): string {
  const flat = String(text ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > limit ? `${flat.slice(0, limit - 3)}...` : flat;
}
