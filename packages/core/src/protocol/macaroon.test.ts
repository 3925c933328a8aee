import { isUtf8 } from 'node:buffer';
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from './base64.js';
import { MalformedMacaroonError } from '../errors.js';
import {
  addCaveats,
  decodeIdentifier,
  decodeMacaroon,
  encodeIdentifier,
  type MacaroonIdentifier,
  mintMacaroon,
  verifyMacaroon,
  verifyMacaroonSignature,
} from './macaroon.js';
import { bytesToHex } from './preimage.js';

const identifier: MacaroonIdentifier = {
  version: 0,
  paymentHash: '11'.repeat(16) + '22'.repeat(16),
  tokenId: 'ab'.repeat(31) + 'cd',
};

function randomIdentifier(): MacaroonIdentifier {
  return {
    version: 0,
    paymentHash: randomBytes(32).toString('hex'),
    tokenId: randomBytes(32).toString('hex'),
  };
}

/** A V2 field with a one-byte length. */
function field(type: number, data: Uint8Array | string): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([Buffer.from([type, bytes.length]), bytes]);
}

function hmac(key: Uint8Array | string, data: Uint8Array | string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

describe('macaroon identifier', () => {
  it('lays out version, payment hash and token id big-endian in 66 bytes', () => {
    const bytes = encodeIdentifier(identifier);
    expect(bytes.length).toBe(66);
    expect(bytesToHex(bytes)).toBe(`0000${'11'.repeat(16)}${'22'.repeat(16)}${'ab'.repeat(31)}cd`);
    expect(decodeIdentifier(bytes)).toEqual(identifier);
  });

  it('normalises hex to lower case', () => {
    const upper = { ...identifier, tokenId: identifier.tokenId.toUpperCase() };
    expect(decodeIdentifier(encodeIdentifier(upper))).toEqual(identifier);
  });

  it('refuses wrong lengths, unknown versions and bad hex', () => {
    const bytes = encodeIdentifier(identifier);
    expect(() => decodeIdentifier(bytes.subarray(0, 65))).toThrow(MalformedMacaroonError);
    expect(() => decodeIdentifier(new Uint8Array([...bytes, 0]))).toThrow(MalformedMacaroonError);
    const versionOne = bytes.slice();
    versionOne[1] = 1;
    expect(() => decodeIdentifier(versionOne)).toThrow(/version 1/);
    expect(() => encodeIdentifier({ ...identifier, version: 1 })).toThrow(MalformedMacaroonError);
    expect(() => encodeIdentifier({ ...identifier, paymentHash: 'ab' })).toThrow(
      MalformedMacaroonError,
    );
    expect(() => encodeIdentifier({ ...identifier, tokenId: 'zz'.repeat(32) })).toThrow(
      MalformedMacaroonError,
    );
  });
});

describe('macaroon', () => {
  const rootKey = randomBytes(32);

  it('mints the libmacaroons V2 binary format with the standard HMAC chain', () => {
    const caveats = ['services=search:0', 'search_valid_until=1700000000'];
    const minted = mintMacaroon({ rootKey, identifier, location: 'l402kit', caveats });

    // Built independently from the format description, as go-macaroon writes it.
    const id = encodeIdentifier(identifier);
    let signature = hmac(hmac('macaroons-key-generator', rootKey), id);
    for (const caveat of caveats) signature = hmac(signature, caveat);
    const expected = Buffer.concat([
      Buffer.from([2]),
      field(1, 'l402kit'),
      field(2, id),
      Buffer.from([0]),
      ...caveats.flatMap((caveat) => [field(2, caveat), Buffer.from([0])]),
      Buffer.from([0]),
      field(6, signature),
    ]);
    expect(Buffer.from(decodeBase64(minted))).toEqual(expected);
    expect(minted).toBe(expected.toString('base64'));
  });

  it('decodes what it mints', () => {
    const id = randomIdentifier();
    const minted = mintMacaroon({ rootKey, identifier: id, location: 'api', caveats: ['a=1'] });
    const decoded = decodeMacaroon(minted);
    expect(decoded).toEqual({
      location: 'api',
      identifier: id,
      caveats: ['a=1'],
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
      base64: minted,
    });
  });

  it('decodes url-safe and unpadded spellings to the canonical one', () => {
    const minted = mintMacaroon({ rootKey, identifier, location: 'api?' });
    const urlSafe = minted.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
    expect(decodeMacaroon(urlSafe).base64).toBe(minted);
    expect(verifyMacaroonSignature(urlSafe, rootKey)).toBe(true);
  });

  it('handles many caveats and long fields (multi-byte lengths)', () => {
    const caveats = Array.from({ length: 60 }, (_, index) => `c${index}=${'x'.repeat(index * 5)}`);
    const minted = mintMacaroon({ rootKey, identifier, location: 'l'.repeat(300), caveats });
    const decoded = decodeMacaroon(minted);
    expect(decoded.caveats).toEqual(caveats);
    expect(decoded.location).toBe('l'.repeat(300));
    expect(verifyMacaroonSignature(addCaveats(minted, ['more=1']), rootKey)).toBe(true);
  });

  it('allows an empty location', () => {
    const minted = mintMacaroon({ rootKey, identifier, location: '' });
    expect(decodeMacaroon(minted).location).toBe('');
  });

  it('verifies under the right root key only', () => {
    const minted = mintMacaroon({ rootKey, identifier, location: 'api', caveats: ['a=1'] });
    expect(verifyMacaroonSignature(minted, rootKey)).toBe(true);
    expect(verifyMacaroonSignature(minted, randomBytes(32))).toBe(false);
  });

  it('keeps an attenuated macaroon verifiable and its caveats in order', () => {
    const minted = mintMacaroon({ rootKey, identifier, location: 'api', caveats: ['a=1'] });
    const narrowed = addCaveats(minted, ['a=0', 'b=2']);
    expect(decodeMacaroon(narrowed).caveats).toEqual(['a=1', 'a=0', 'b=2']);
    expect(decodeMacaroon(narrowed).identifier).toEqual(identifier);
    expect(verifyMacaroonSignature(narrowed, rootKey)).toBe(true);
  });

  it('rejects a macaroon whose caveat was removed or changed', () => {
    const minted = mintMacaroon({ rootKey, identifier, location: 'api', caveats: ['a=1'] });
    const bytes = Buffer.from(decodeBase64(minted));
    const changed = Buffer.from(bytes);
    changed[changed.indexOf('a=1') + 2] = '9'.charCodeAt(0);
    expect(decodeMacaroon(changed.toString('base64')).caveats).toEqual(['a=9']);
    expect(verifyMacaroonSignature(changed.toString('base64'), rootKey)).toBe(false);

    // The same macaroon without its caveat, carrying the caveated signature.
    const stripped = mintMacaroon({ rootKey, identifier, location: 'api' });
    const strippedBytes = Buffer.from(decodeBase64(stripped));
    const withOldSignature = Buffer.concat([
      strippedBytes.subarray(0, -32),
      bytes.subarray(bytes.length - 32),
    ]);
    expect(verifyMacaroonSignature(withOldSignature.toString('base64'), rootKey)).toBe(false);
  });

  it.each([
    ['empty input', ''],
    ['invalid base64', 'not base64!'],
    ['random bytes', randomBytes(40).toString('base64')],
    [
      'a V2 macaroon with a non-L402 identifier',
      Buffer.concat([
        Buffer.from([2]),
        field(2, 'abc'),
        Buffer.from([0, 0]),
        field(6, Buffer.alloc(32)),
      ]).toString('base64'),
    ],
    ['JSON instead of binary', Buffer.from('{"v":2,"i":"abc","s64":"AAAA"}').toString('base64')],
  ])('refuses %s with MalformedMacaroonError', (_name, text) => {
    expect(() => decodeMacaroon(text)).toThrow(MalformedMacaroonError);
    expect(() => addCaveats(text, ['a=1'])).toThrow(MalformedMacaroonError);
    expect(verifyMacaroonSignature(text, rootKey)).toBe(false);
  });

  it('reads non-canonical spellings of the binary format and gives the canonical one', () => {
    const caveat = 'a=1';
    const id = encodeIdentifier(identifier);
    const signature = hmac(hmac(hmac('macaroons-key-generator', rootKey), id), caveat);
    const canonical = Buffer.concat([
      Buffer.from([2]),
      field(2, id),
      Buffer.from([0]),
      field(2, caveat),
      Buffer.from([0, 0]),
      field(6, signature),
    ]).toString('base64');
    const spellings = [
      // An explicit empty location.
      Buffer.concat([Buffer.from([2, 1, 0]), field(2, id), Buffer.from([0])]),
      // A caveat location (a hint outside the signature) and a length spelled in two bytes.
      Buffer.concat([
        Buffer.from([2]),
        field(2, id),
        Buffer.from([0]),
        field(1, 'elsewhere'),
        Buffer.from([2, 0x83, 0x00]),
        Buffer.from(caveat),
      ]),
    ];
    for (const [index, prefix] of spellings.entries()) {
      const rest =
        index === 0
          ? Buffer.concat([field(2, caveat), Buffer.from([0, 0]), field(6, signature)])
          : Buffer.concat([Buffer.from([0, 0]), field(6, signature)]);
      const text = Buffer.concat([prefix, rest]).toString('base64');
      expect(decodeMacaroon(text)).toMatchObject({ caveats: [caveat], base64: canonical });
      expect(verifyMacaroon(text, rootKey)).toMatchObject({ signatureValid: true });
    }
  });

  it('keeps caveat text exactly as signed, a leading byte-order mark included', () => {
    const minted = mintMacaroon({ rootKey, identifier, location: '', caveats: ['\uFEFFa=1'] });
    expect(decodeMacaroon(minted).caveats).toEqual(['\uFEFFa=1']);
  });

  it.each([
    ['a 31-byte signature', (signature: Buffer) => field(6, signature.subarray(1))],
    [
      'bytes after the signature',
      (signature: Buffer) => Buffer.concat([field(6, signature), Buffer.from([0])]),
    ],
  ])('refuses %s', (_name, signatureField) => {
    const id = encodeIdentifier(identifier);
    const signature = hmac(hmac('macaroons-key-generator', rootKey), id);
    const text = Buffer.concat([
      Buffer.from([2]),
      field(2, id),
      Buffer.from([0, 0]),
      signatureField(signature),
    ]).toString('base64');
    expect(() => decodeMacaroon(text)).toThrow(MalformedMacaroonError);
    expect(verifyMacaroonSignature(text, rootKey)).toBe(false);
  });

  it.each([
    [
      'a third-party caveat',
      Buffer.concat([field(2, 'third'), field(4, Buffer.alloc(32)), Buffer.from([0])]),
    ],
    [
      'a caveat that is not UTF-8',
      Buffer.concat([field(2, Buffer.from([0x61, 0xff])), Buffer.from([0])]),
    ],
  ])('refuses %s', (_name, caveatSection) => {
    const id = encodeIdentifier(identifier);
    const text = Buffer.concat([
      Buffer.from([2]),
      field(2, id),
      Buffer.from([0]),
      caveatSection,
      Buffer.from([0]),
      field(6, Buffer.alloc(32)),
    ]).toString('base64');
    expect(() => decodeMacaroon(text)).toThrow(MalformedMacaroonError);
  });

  it('reads a caveat exactly when its bytes are UTF-8, as signed (U+FFFD and a BOM kept)', () => {
    const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const caveatBytes = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      // Valid text that holds U+FFFD or starts with a BOM, then a stray byte or not.
      fc
        .tuple(
          fc.constantFrom('', '\uFEFF', '\uFFFD', 'a=\uFFFD'),
          fc.string({ maxLength: 10 }),
          fc.constantFrom([], [0xff], [0xc3], [0xed, 0xa0, 0x80]),
        )
        .map(([start, rest, tail]) =>
          Uint8Array.from([...Buffer.from(start + rest, 'utf8'), ...tail]),
        ),
    );
    fc.assert(
      fc.property(caveatBytes, (bytes) => {
        const text = Buffer.concat([
          Buffer.from([2]),
          field(2, encodeIdentifier(identifier)),
          Buffer.from([0]),
          field(2, bytes),
          Buffer.from([0, 0]),
          field(6, Buffer.alloc(32)),
        ]).toString('base64');
        if (isUtf8(bytes)) expect(decodeMacaroon(text).caveats).toEqual([strict.decode(bytes)]);
        else expect(() => decodeMacaroon(text)).toThrow(MalformedMacaroonError);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses a truncated macaroon', () => {
    const minted = mintMacaroon({ rootKey, identifier, location: 'api' });
    const bytes = decodeBase64(minted);
    expect(() => decodeMacaroon(Buffer.from(bytes.subarray(0, -1)).toString('base64'))).toThrow(
      MalformedMacaroonError,
    );
  });

  it('never puts the macaroon in its error message', () => {
    const minted = mintMacaroon({ rootKey, identifier, location: 'api' });
    const broken = `${minted.slice(0, -8)}AAAAAAAA`;
    try {
      decodeMacaroon(broken);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(MalformedMacaroonError);
      expect((error as Error).message).not.toContain(minted.slice(0, 20));
    }
  });
});
