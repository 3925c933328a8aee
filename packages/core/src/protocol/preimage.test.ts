import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { L402Error } from '../errors.js';
import { bytesToHex, hexToBytes, isPreimageFor, sha256Hex } from './preimage.js';

describe('preimage', () => {
  it('hashes with sha256', () => {
    // FIPS 180-2 test vector.
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('converts hex both ways, lower case out, either case in', () => {
    expect(bytesToHex(new Uint8Array([0, 0xab, 0xff]))).toBe('00abff');
    expect(hexToBytes('00ABff')).toEqual(new Uint8Array([0, 0xab, 0xff]));
    expect(() => hexToBytes('abc')).toThrow(L402Error);
    expect(() => hexToBytes('zz')).toThrow(L402Error);
  });

  it('checks a preimage against its payment hash', () => {
    const preimage = randomBytes(32);
    const paymentHash = createHash('sha256').update(preimage).digest('hex');
    expect(isPreimageFor(preimage.toString('hex'), paymentHash)).toBe(true);
    expect(isPreimageFor(preimage.toString('hex').toUpperCase(), paymentHash.toUpperCase())).toBe(
      true,
    );
    expect(isPreimageFor(randomBytes(32).toString('hex'), paymentHash)).toBe(false);
    // The hash is not its own preimage.
    expect(isPreimageFor(paymentHash, paymentHash)).toBe(false);
  });

  it.each([
    ['a short preimage', 'ab', 'cd'.repeat(32)],
    ['a non-hex preimage', 'zz'.repeat(32), 'cd'.repeat(32)],
    ['a short hash', 'ab'.repeat(32), 'cd'],
    ['an empty input', '', ''],
  ])('is false for %s', (_name, preimage, hash) => {
    expect(isPreimageFor(preimage, hash)).toBe(false);
  });
});
