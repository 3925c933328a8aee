import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedCredentialError, MalformedMacaroonError } from '../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { formatCredential, parseCredential } from './credential.js';
import { mintMacaroon, verifyMacaroon } from './macaroon.js';
import { bytesToHex, isPreimageFor } from './preimage.js';
import { checkCredential } from './verify-credential.js';

const rootKey = randomBytes(32);

function paidMacaroon(
  preimage: Uint8Array,
  caveats: string[],
  location = '',
  tokenId = bytesToHex(randomBytes(32)),
): string {
  const paymentHash = createHash('sha256').update(preimage).digest('hex');
  return mintMacaroon({
    rootKey,
    identifier: { version: 0, paymentHash, tokenId },
    location,
    caveats,
  });
}

/** The same bytes spelled url-safe, unpadded: an accepted spelling. */
function urlSafe(base64: string): string {
  return base64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * What `checkCredential` must equal: the credential parser (which checks the base64), then the
 * macaroon verifier, then the preimage check, each reading the credential again.
 */
function readSeparately(header: string, key: Uint8Array) {
  let credential: ReturnType<typeof parseCredential>;
  try {
    credential = parseCredential(header);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedCredentialError);
    return 'malformed credential';
  }
  let verified: ReturnType<typeof verifyMacaroon>;
  try {
    verified = verifyMacaroon(credential.macaroon, key);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedMacaroonError);
    return 'malformed macaroon';
  }
  return {
    scheme: credential.scheme,
    identifier: verified.macaroon.identifier,
    caveats: verified.macaroon.caveats,
    signatureValid: verified.signatureValid,
    preimageValid: isPreimageFor(credential.preimage, verified.macaroon.identifier.paymentHash),
  };
}

function readOnce(header: string, key: Uint8Array) {
  try {
    return checkCredential(header, key);
  } catch (error) {
    if (error instanceof MalformedCredentialError) return 'malformed credential';
    if (error instanceof MalformedMacaroonError) return 'malformed macaroon';
    throw error;
  }
}

const paidCredential = fc
  .record({
    preimage: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    caveats: fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }), { maxLength: 4 }),
    location: fc.constantFrom('', 'https://api.example'),
    scheme: fc.constantFrom('L402', 'LSAT') as fc.Arbitrary<'L402' | 'LSAT'>,
    spelling: fc.constantFrom('canonical', 'url-safe'),
    upperHex: fc.boolean(),
  })
  .map(({ preimage, caveats, location, scheme, spelling, upperHex }) => {
    const macaroon = paidMacaroon(preimage, caveats, location);
    const hex = bytesToHex(preimage);
    return formatCredential({
      scheme,
      macaroon: spelling === 'url-safe' ? urlSafe(macaroon) : macaroon,
      preimage: upperHex ? hex.toUpperCase() : hex,
    });
  });

/** A few characters of the header inserted, deleted or replaced, from the base64 alphabets. */
const editedCredential = fc
  .tuple(
    paidCredential,
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom('insert', 'delete', 'replace'),
        fc.constantFrom(...'Aa0+/-_=: \tQw'.split('')),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([header, edits]) => {
    let text = header;
    for (const [position, kind, character] of edits) {
      const at = position % (text.length + 1);
      if (kind === 'insert') text = text.slice(0, at) + character + text.slice(at);
      else if (kind === 'delete') text = text.slice(0, at) + text.slice(at + 1);
      else text = text.slice(0, at) + character + text.slice(at + 1);
    }
    return text;
  });

describe('checkCredential', () => {
  it('reads and judges every credential exactly as the parser, verifier and preimage check do', () => {
    fc.assert(
      fc.property(fc.oneof(paidCredential, editedCredential, fc.string()), (header) => {
        expect(readOnce(header, rootKey)).toEqual(readSeparately(header, rootKey));
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts a paid credential in every spelling, and nothing under another key', () => {
    const preimage = randomBytes(32);
    const macaroon = paidMacaroon(preimage, ['services=search:0', 'search_path=/a']);
    for (const spelling of [macaroon, urlSafe(macaroon)]) {
      const header = `lsat ${spelling}:${bytesToHex(preimage).toUpperCase()}`;
      const checked = checkCredential(header, rootKey);
      expect(checked).toMatchObject({
        scheme: 'LSAT',
        caveats: ['services=search:0', 'search_path=/a'],
        signatureValid: true,
        preimageValid: true,
      });
      expect(checkCredential(header, randomBytes(32)).signatureValid).toBe(false);
    }
    const other = formatCredential({ macaroon, preimage: bytesToHex(randomBytes(32)) });
    expect(checkCredential(other, rootKey)).toMatchObject({
      signatureValid: true,
      preimageValid: false,
    });
  });

  it('refuses a preimage with a character above U+00FF as the parser does, not as hex', () => {
    const preimage = randomBytes(32);
    const macaroon = paidMacaroon(preimage, []);
    const hex = bytesToHex(preimage);
    // U+0100 | "a" reads as "a" to Node's hex decoder, which looks at the low byte only.
    const lookalike = `${String.fromCharCode(0x100 | hex.charCodeAt(0))}${hex.slice(1)}`;
    const header = `L402 ${macaroon}:${lookalike}`;
    expect(() => parseCredential(header)).toThrow(MalformedCredentialError);
    expect(() => checkCredential(header, rootKey)).toThrow(MalformedCredentialError);
  });

  it('refuses base64 the strict decoder refuses, as a malformed credential', () => {
    const preimage = bytesToHex(randomBytes(32));
    // A caveat long enough that the macaroon's length is not a multiple of 3: padded base64
    // whose last character has unused low bits.
    let macaroon = paidMacaroon(randomBytes(32), ['services=search:0']);
    for (let pad = 'x'; !macaroon.endsWith('='); pad += 'x') {
      macaroon = paidMacaroon(randomBytes(32), [`services=search:0`, `pad=${pad}`]);
    }
    const body = macaroon.replace(/=+$/, '');
    const padding = macaroon.slice(body.length);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    // The lowest unused bit set: Node's lenient decoder reads the same bytes.
    const setTrailingBit = alphabet[alphabet.indexOf(body.at(-1)!) + 1]!;
    const spellings = [
      `${body.slice(0, -1)}${setTrailingBit}${padding}`,
      `${body.slice(0, -1)}${setTrailingBit}`,
      `${macaroon}=`,
      `${body}${padding === '=' ? '==' : '='}`,
      `${body.slice(0, 4)}+${body.slice(5, 9)}_${body.slice(10)}${padding}`,
      `${body.slice(0, 8)}=${body.slice(8)}${padding}`,
      `${body.slice(0, 8)}*${body.slice(9)}${padding}`,
    ];
    expect(Buffer.from(spellings[0]!, 'base64')).toEqual(Buffer.from(macaroon, 'base64'));
    for (const spelling of spellings) {
      const header = `L402 ${spelling}:${preimage}`;
      expect(() => parseCredential(header)).toThrow(MalformedCredentialError);
      expect(() => checkCredential(header, rootKey)).toThrow(MalformedCredentialError);
    }
  });

  it('never accepts a credential whose macaroon has any byte changed', () => {
    const preimage = randomBytes(32);
    const macaroon = paidMacaroon(preimage, [
      'services=search:0',
      'search_valid_until=99999999999',
    ]);
    const bytes = decodeBase64(macaroon);
    for (let index = 0; index < bytes.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = Uint8Array.from(bytes);
        tampered[index]! ^= 1 << bit;
        const header = formatCredential({
          macaroon: encodeBase64(tampered),
          preimage: bytesToHex(preimage),
        });
        const result = readOnce(header, rootKey);
        if (typeof result === 'string') continue;
        expect(result.signatureValid && result.preimageValid).toBe(false);
      }
    }
  });
});
