import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkBase64, decodeBase64, decodeCheckedBase64, encodeBase64 } from './base64.js';
import { L402Error } from '../errors.js';

const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x00, 0x01]);

describe('base64', () => {
  it('encodes standard and padded', () => {
    expect(encodeBase64(bytes)).toBe('+/+/AAE=');
    expect(encodeBase64(new Uint8Array())).toBe('');
  });

  it('decodes standard or url-safe, padded or not', () => {
    for (const text of ['+/+/AAE=', '+/+/AAE', '-_-_AAE=', '-_-_AAE']) {
      expect(decodeBase64(text)).toEqual(bytes);
    }
    expect(decodeBase64('')).toEqual(new Uint8Array());
    expect(decodeBase64('QQ==')).toEqual(new Uint8Array([0x41]));
    expect(decodeBase64('QUI')).toEqual(new Uint8Array([0x41, 0x42]));
  });

  it.each([
    ['a character outside both alphabets', 'QUJD*A=='],
    ['whitespace', 'QU JD'],
    ['mixed alphabets', '+/-_AAE='],
    ['too much padding', 'QQ==='],
    ['padding on a full group', 'QUJD===='],
    ['padding that does not fit the length', 'QUI=='],
    ['an impossible length', 'QUJDR'],
    ['padding in the middle', 'QQ==QQ=='],
    ['non-zero trailing bits', 'QR=='],
  ])('refuses %s', (_name, text) => {
    expect(() => decodeBase64(text)).toThrow(L402Error);
  });

  it('decodes and judges any text exactly as the strict checks followed by a decode do', () => {
    const checkedThenDecoded = (text: string) => {
      try {
        const { canonical } = checkBase64(text);
        return { bytes: new Uint8Array(Buffer.from(text, 'base64')), canonical };
      } catch (error) {
        return { error: (error as Error).message };
      }
    };
    const decoded = (text: string) => {
      try {
        const { bytes, canonical } = decodeCheckedBase64(text);
        return { bytes: new Uint8Array(bytes), canonical };
      } catch (error) {
        return { error: (error as Error).message };
      }
    };
    const base64ish = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('base64')),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
      fc.string({ unit: fc.constantFrom(...'AQgw+/-_=Zz09 \n.'), maxLength: 24 }),
    );
    fc.assert(
      fc.property(base64ish, fc.nat(), fc.string({ maxLength: 2 }), (text, at, insert) => {
        for (const candidate of [text, text.slice(0, at % (text.length + 1)) + insert]) {
          expect(decoded(candidate)).toEqual(checkedThenDecoded(candidate));
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
