import { L402Error } from '../errors.js';

const STANDARD = /^[A-Za-z0-9+/]*$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes standard or url-safe base64, padded or not. Strict where Node's decoder is lenient:
 * invalid characters, mixed alphabets, bad padding and non-zero trailing bits are refused, so one
 * byte string has exactly one accepted spelling per alphabet. Throws a plain L402Error; callers
 * wrap it in the error class of what they were reading (macaroon, credential, ...).
 */
export function decodeBase64(text: string): Uint8Array {
  if (typeof text !== 'string') throw new L402Error('base64 input is not a string');
  let body = text;
  const padding = body.length - body.replace(/=+$/, '').length;
  if (padding > 0) {
    if (padding > 2 || body.length % 4 !== 0) throw new L402Error('base64 has invalid padding');
    body = body.slice(0, -padding);
  }
  if (!STANDARD.test(body) && !URL_SAFE.test(body)) {
    throw new L402Error('base64 contains invalid characters');
  }
  const remainder = body.length % 4;
  if (remainder === 1) throw new L402Error('base64 has an impossible length');
  if (padding > 0 && padding !== 4 - remainder) throw new L402Error('base64 has invalid padding');

  const standard = body.replaceAll('-', '+').replaceAll('_', '/');
  const bytes = new Uint8Array(Buffer.from(standard, 'base64'));
  // Unused low bits of the last character must be zero, or two spellings would decode alike.
  if (encodeBase64(bytes).replace(/=+$/, '') !== standard) {
    throw new L402Error('base64 has non-zero trailing bits');
  }
  return bytes;
}

/** Standard alphabet, padded: the form aperture and the L402 spec use in headers. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
