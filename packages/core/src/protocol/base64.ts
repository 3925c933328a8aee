import { L402Error } from '../errors.js';

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;

/** Base64 text that passed the strict checks, and whether it is already the canonical spelling. */
export interface CheckedBase64 {
  /** Characters before the padding. */
  bodyLength: number;
  /** Standard alphabet and padded: exactly what `encodeBase64` writes for these bytes. */
  canonical: boolean;
}

/**
 * The strict checks of `decodeBase64` without decoding: one alphabet, padding that fits the
 * length, zero trailing bits. Throws a plain L402Error; callers wrap it in the error class of
 * what they were reading (macaroon, credential, ...).
 */
export function checkBase64(text: string): CheckedBase64 {
  if (typeof text !== 'string') throw new L402Error('base64 input is not a string');
  const standard = STANDARD.test(text);
  if (!standard && !URL_SAFE.test(text)) {
    throw new L402Error('base64 contains invalid characters or misplaced padding');
  }
  let bodyLength = text.length;
  while (bodyLength > 0 && text.charCodeAt(bodyLength - 1) === 61 /* = */) bodyLength--;
  const padding = text.length - bodyLength;
  const remainder = bodyLength % 4;
  if (remainder === 1) throw new L402Error('base64 has an impossible length');
  if (padding > 0 && (text.length % 4 !== 0 || padding !== 4 - remainder)) {
    throw new L402Error('base64 has invalid padding');
  }
  // Unused low bits of the last character must be zero, or two spellings would decode alike.
  if (remainder !== 0) {
    const unusedBits = remainder === 2 ? 0b1111 : 0b11;
    if ((sextet(text.charCodeAt(bodyLength - 1)) & unusedBits) !== 0) {
      throw new L402Error('base64 has non-zero trailing bits');
    }
  }
  // A body without '+' '/' '-' '_' reads the same in both alphabets.
  return { bodyLength, canonical: standard && text.length % 4 === 0 };
}

/**
 * Decodes standard or url-safe base64, padded or not. Strict where Node's decoder is lenient:
 * invalid characters, mixed alphabets, bad padding and non-zero trailing bits are refused, so one
 * byte string has exactly one accepted spelling per alphabet. Throws a plain L402Error.
 */
export function decodeBase64(text: string): Uint8Array {
  return decodeCheckedBase64(text).bytes;
}

/** `decodeBase64`, also saying whether `text` is already the canonical spelling. */
export function decodeCheckedBase64(text: string): { bytes: Uint8Array; canonical: boolean } {
  if (typeof text === 'string') {
    const buffer = Buffer.from(text, 'base64');
    // The common case, cheaper than the checks: exactly what `encodeBase64` writes for these
    // bytes, which is valid and canonical.
    if (buffer.toString('base64') === text) return { bytes: asBytes(buffer), canonical: true };
  }
  const { canonical } = checkBase64(text);
  // Node reads both alphabets and missing padding; the checks above made the input unambiguous.
  return { bytes: asBytes(Buffer.from(text, 'base64')), canonical };
}

function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Standard alphabet, padded: the form aperture and the L402 spec use in headers. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The 6-bit value of a base64 character of either alphabet (already checked). */
function sextet(code: number): number {
  if (code >= 65 && code <= 90) return code - 65; // A-Z
  if (code >= 97 && code <= 122) return code - 71; // a-z
  if (code >= 48 && code <= 57) return code + 4; // 0-9
  return code === 43 || code === 45 ? 62 : 63; // + - / _
}
