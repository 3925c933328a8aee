import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
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

  it('refuses a character above U+00FF whose low byte is a hex digit, wherever it is', () => {
    // Node's hex decoder reads only the low byte of each character: U+0130 reads as "0".
    const bytes = randomBytes(32);
    const preimage = bytes.toString('hex');
    const paymentHash = createHash('sha256').update(bytes).digest('hex');
    for (let at = 0; at < 64; at++) {
      const lookalike = String.fromCharCode(0x100 | preimage.charCodeAt(at));
      const spoiled = preimage.slice(0, at) + lookalike + preimage.slice(at + 1);
      expect(isPreimageFor(spoiled, paymentHash)).toBe(false);
      expect(
        isPreimageFor(preimage, paymentHash.slice(0, at) + lookalike + paymentHash.slice(at + 1)),
      ).toBe(false);
    }
  });

  it('refuses a preimage or a hash with any character that is not hex, wherever it is', () => {
    const notHex = fc.constantFrom(
      'g',
      'G',
      'z',
      ' ',
      '+',
      '-',
      'x',
      '\u0000',
      'é',
      '\uFFFD',
      '０',
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(63),
        notHex,
        (bytes, at, bad) => {
          const preimage = Buffer.from(bytes).toString('hex');
          const paymentHash = createHash('sha256').update(bytes).digest('hex');
          const spoil = (hex: string) => hex.slice(0, at) + bad + hex.slice(at + 1);
          expect(isPreimageFor(preimage, paymentHash)).toBe(true);
          expect(isPreimageFor(spoil(preimage), paymentHash)).toBe(false);
          expect(isPreimageFor(preimage, spoil(paymentHash))).toBe(false);
          // 64 characters of which some are not hex, or more than 64 characters.
          expect(isPreimageFor(`${preimage.slice(0, 62)}${bad}0`, paymentHash)).toBe(false);
          expect(isPreimageFor(`${preimage}00`, paymentHash)).toBe(false);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
