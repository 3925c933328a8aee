import { hash, timingSafeEqual } from 'node:crypto';
import { L402Error } from '../errors.js';

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

export function sha256Hex(bytes: Uint8Array): string {
  return hash('sha256', bytes, 'hex');
}

/** Lower-case hex. */
export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Either case accepted; throws an L402Error on odd length or a non-hex character. */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || !HEX.test(hex)) throw new L402Error('not valid hex');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * Whether sha256(preimage) equals the payment hash, both 32 bytes of hex in either case.
 * False on malformed input. The digests are compared in constant time.
 */
export function isPreimageFor(preimageHex: string, paymentHashHex: string): boolean {
  if (typeof preimageHex !== 'string' || typeof paymentHashHex !== 'string') return false;
  const preimage = hash32Bytes(preimageHex);
  const paymentHash = hash32Bytes(paymentHashHex);
  if (preimage === undefined || paymentHash === undefined) return false;
  return preimageMatches(preimage, paymentHash);
}

/**
 * Whether sha256(preimage) is `paymentHash`, both 32 bytes (not checked here), compared in
 * constant time. The one-shot `hash` costs about half of a
 * `createHash` object.
 */
export function preimageMatches(preimage: Uint8Array, paymentHash: Uint8Array): boolean {
  return timingSafeEqual(hash('sha256', preimage, 'buffer'), paymentHash);
}

const HEX_32_BYTES = /^[0-9a-fA-F]{64}$/;

/** 64 hex digits in either case as 32 bytes, else undefined. */
export function hash32Bytes(hex: string): Buffer | undefined {
  // Checked first: Node's decoder reads only the low byte of each character, so it would read
  // U+0130 as "0".
  if (typeof hex !== 'string' || !HEX_32_BYTES.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}
