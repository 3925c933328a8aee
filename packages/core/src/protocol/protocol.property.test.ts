// Property tests for every protocol parser: random and mutated input produces a typed error of
// the parser's own class (never a TypeError or RangeError), and what we write we read back.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from './base64.js';
import { macaroonExpiry, parseCaveat } from './caveats.js';
import { formatCredential, parseCredential } from './credential.js';
import {
  L402Error,
  MalformedChallengeError,
  MalformedCredentialError,
  MalformedMacaroonError,
} from '../errors.js';
import {
  addCaveats,
  decodeIdentifier,
  decodeMacaroon,
  encodeIdentifier,
  type MacaroonIdentifier,
  mintMacaroon,
  verifyMacaroonSignature,
} from './macaroon.js';
import { type L402Challenge, parseChallenges, parseL402Challenge } from './parse-challenge.js';
import { bytesToHex, hexToBytes, isPreimageFor } from './preimage.js';

/** Runs `parse`; if it throws, the error must be an instance of `errorClass`. */
function onlyThrows(errorClass: typeof L402Error, parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof errorClass)) throw error;
  }
}

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
const identifierArbitrary: fc.Arbitrary<MacaroonIdentifier> = fc.record({
  version: fc.constant(0),
  paymentHash: hex32,
  tokenId: hex32,
});
// Characters that matter to the grammars, so random strings reach deep into the parsers.
const grammarCharacter = fc.constantFrom(
  ...'L402LSATlsat macaroon token invoice version Basic Payment = , " \\ \t / + - _ : 0 a Z'.split(
    '',
  ),
);
const anyText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.string({ unit: grammarCharacter, maxLength: 200 }),
);

/** Applies random insertions, deletions and replacements to a string. */
function mutated(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('insert', 'delete', 'replace'),
    text: fc.oneof(
      fc.string({ minLength: 1, maxLength: 3 }),
      fc.string({ unit: grammarCharacter, minLength: 1, maxLength: 3 }),
    ),
  });
  return fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
    let result = text;
    for (const { at, kind, text: piece } of edits) {
      const index = result.length === 0 ? 0 : at % (result.length + 1);
      if (kind === 'insert') result = result.slice(0, index) + piece + result.slice(index);
      else if (kind === 'delete') result = result.slice(0, index) + result.slice(index + 1);
      else result = result.slice(0, index) + piece + result.slice(index + 1);
    }
    return result;
  });
}

const rootKey = randomBytes(32);
const mintedArbitrary = fc
  .record({
    identifier: identifierArbitrary,
    location: fc.string({ unit: 'grapheme', maxLength: 20 }),
    caveats: fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }), { maxLength: 4 }),
  })
  .map((options) => ({ ...options, macaroon: mintMacaroon({ rootKey, ...options }) }));

describe('base64 properties', () => {
  it('round-trips bytes in every accepted spelling', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const standard = encodeBase64(bytes);
        const urlSafe = standard.replaceAll('+', '-').replaceAll('/', '_');
        for (const spelling of [
          standard,
          standard.replace(/=+$/, ''),
          urlSafe,
          urlSafe.replace(/=+$/, ''),
        ]) {
          expect(decodeBase64(spelling)).toEqual(bytes);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts only canonical spellings of random text', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        let bytes: Uint8Array | undefined;
        onlyThrows(L402Error, () => {
          bytes = decodeBase64(text);
        });
        if (bytes !== undefined) {
          const canonical = encodeBase64(bytes);
          const unpadded = canonical.replace(/=+$/, '');
          const urlSafe = unpadded.replaceAll('+', '-').replaceAll('/', '_');
          expect([
            canonical,
            unpadded,
            urlSafe,
            `${urlSafe}${canonical.slice(unpadded.length)}`,
          ]).toContain(text);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('hex and preimage properties', () => {
  it('round-trips hex and never throws from isPreimageFor', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), anyText, anyText, (bytes, a, b) => {
        expect(hexToBytes(bytesToHex(bytes))).toEqual(bytes);
        expect(hexToBytes(bytesToHex(bytes).toUpperCase())).toEqual(bytes);
        onlyThrows(L402Error, () => hexToBytes(a));
        expect(typeof isPreimageFor(a, b)).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('caveat properties', () => {
  it('parses any text without throwing, and expiry is always a valid date', () => {
    fc.assert(
      fc.property(fc.array(anyText, { maxLength: 5 }), (texts) => {
        for (const text of texts) {
          const caveat = parseCaveat(text);
          if (caveat !== undefined) {
            expect(caveat.key).not.toContain('=');
            expect(caveat.key).toBe(caveat.key.trim());
            expect(caveat.key.length).toBeGreaterThan(0);
          }
        }
        const expiry = macaroonExpiry(texts);
        if (expiry !== undefined) expect(Number.isNaN(expiry.getTime())).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('finds the earliest of random expiries', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 2 ** 33 }), { minLength: 1, maxLength: 5 }), (seconds) => {
        const caveats = seconds.map((value, index) => `service${index}_valid_until=${value}`);
        expect(macaroonExpiry(['services=a:0', ...caveats])).toEqual(
          new Date(Math.min(...seconds) * 1000),
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe('macaroon properties', () => {
  it('round-trips identifiers', () => {
    fc.assert(
      fc.property(identifierArbitrary, (identifier) => {
        expect(decodeIdentifier(encodeIdentifier(identifier))).toEqual(identifier);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads random identifier bytes or refuses them with MalformedMacaroonError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 80 }),
          fc
            .uint8Array({ minLength: 64, maxLength: 64 })
            .map((rest) => new Uint8Array([0, 0, ...rest])),
        ),
        (bytes) => {
          onlyThrows(MalformedMacaroonError, () => decodeIdentifier(bytes));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('decodes what it mints, verifies it, and keeps it verifiable when attenuated', () => {
    fc.assert(
      fc.property(
        mintedArbitrary,
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
        (minted, extra) => {
          const decoded = decodeMacaroon(minted.macaroon);
          expect(decoded).toEqual({
            location: minted.location,
            identifier: minted.identifier,
            caveats: minted.caveats,
            signature: expect.stringMatching(/^[0-9a-f]{64}$/),
            base64: minted.macaroon,
          });
          expect(verifyMacaroonSignature(minted.macaroon, rootKey)).toBe(true);
          const narrowed = addCaveats(minted.macaroon, extra);
          expect(decodeMacaroon(narrowed).caveats).toEqual([...minted.caveats, ...extra]);
          expect(verifyMacaroonSignature(narrowed, rootKey)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses random and mutated text with MalformedMacaroonError only', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyText, mutated(mintedArbitrary.map((minted) => minted.macaroon))),
        (text) => {
          onlyThrows(MalformedMacaroonError, () => decodeMacaroon(text));
          onlyThrows(MalformedMacaroonError, () => addCaveats(text, ['a=1']));
          expect(typeof verifyMacaroonSignature(text, rootKey)).toBe('boolean');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never verifies a macaroon whose signed content changed', () => {
    fc.assert(
      fc.property(
        mintedArbitrary,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (minted, at, xor) => {
          const bytes = decodeBase64(minted.macaroon);
          const index = at % bytes.length;
          bytes[index] = (bytes[index] as number) ^ xor;
          const changed = encodeBase64(bytes);
          onlyThrows(MalformedMacaroonError, () => decodeMacaroon(changed));
          if (verifyMacaroonSignature(changed, rootKey)) {
            // The location is a hint outside the signature (as in every macaroon library).
            const { location: _location, base64: _base64, ...signed } = decodeMacaroon(changed);
            const {
              location: _original,
              base64: _originalBase64,
              ...original
            } = decodeMacaroon(minted.macaroon);
            expect(signed).toEqual(original);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// Challenge headers built from random parameters, mixed with other schemes.
const tokenCharacter = fc.constantFrom(
  ..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split(''),
);
const token = fc.string({ unit: tokenCharacter, minLength: 1, maxLength: 12 });
const base64Value = fc.uint8Array({ minLength: 1, maxLength: 120 }).map(encodeBase64);
const invoiceValue = fc
  .string({
    unit: fc.constantFrom(...'qpzry9x8gf2tvdw0s3jn54khce6mua7l'.split('')),
    minLength: 20,
    maxLength: 80,
  })
  .map((data) => `lnbcrt10u1${data}`);
const whitespace = fc.constantFrom('', ' ', '  ', '\t');
const quote = (value: string) => `"${value.replace(/["\\]/g, (character) => `\\${character}`)}"`;
/** A value written quoted, or bare when it can be (no separators, not only "="). */
const written = (value: string, bare: boolean) =>
  bare && /^[^\s,"]+$/.test(value) && !/^=+$/.test(value) ? value : quote(value);

const challengeArbitrary = fc
  .record({
    scheme: fc.constantFrom('L402', 'LSAT', 'l402', 'lsat', 'lSaT', 'Lsat'),
    useToken: fc.boolean(),
    version: fc.option(fc.constantFrom('0', '1'), { nil: undefined }),
    macaroon: base64Value,
    invoice: invoiceValue,
    extra: fc.uniqueArray(fc.tuple(token, fc.string({ unit: 'grapheme', maxLength: 20 })), {
      maxLength: 3,
      selector: ([name]) => name.toLowerCase(),
    }),
    bare: fc.boolean(),
    space: whitespace,
    order: fc.nat(),
  })
  .map((c) => {
    const reserved = new Set(['macaroon', 'token', 'invoice', 'version']);
    const extra = c.extra.filter(([name]) => !reserved.has(name.toLowerCase()));
    const params: [string, string][] = [
      [c.useToken ? 'token' : 'macaroon', c.macaroon],
      ['invoice', c.invoice],
      ...(c.version === undefined ? [] : [['version', c.version] as [string, string]]),
      ...extra,
    ];
    // Rotate so that any parameter may come first.
    const rotated = params.map(
      (_, index) => params[(index + c.order) % params.length] as [string, string],
    );
    const text = `${c.scheme} ${rotated.map(([name, value]) => `${name}${c.space}=${c.space}${written(value, c.bare)}`).join(`${c.space},${c.space}`)}`;
    const expected: L402Challenge = {
      scheme: c.scheme.toUpperCase() as 'L402' | 'LSAT',
      macaroon: c.macaroon,
      invoice: c.invoice,
      ...(c.version === undefined ? {} : { version: c.version }),
      params: Object.fromEntries(rotated.map(([name, value]) => [name.toLowerCase(), value])),
    };
    return { text, expected };
  });
const otherChallenge = fc.oneof(
  fc.constant('Basic realm="x"'),
  fc.constant('Bearer'),
  fc.constant('Negotiate YWJj=='),
  base64Value.map(
    (request) => `Payment id="x", method="lightning", intent="charge", request="${request}"`,
  ),
  fc.constant(
    'Digest realm="r", qop="auth,auth-int", nonce="n, \\"m\\"", opaque=o, algorithm=SHA-256',
  ),
  fc
    .tuple(token, token, fc.string({ maxLength: 20 }))
    .map(([scheme, name, value]) => `${scheme} ${name}=${quote(value)}`),
);

describe('challenge properties', () => {
  it('reads back challenges built from random parameters among other schemes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            challengeArbitrary,
            otherChallenge.map((text) => ({ text, expected: undefined })),
          ),
          {
            minLength: 1,
            maxLength: 5,
          },
        ),
        whitespace,
        (parts, space) => {
          // Other schemes whose name happens to be L402/LSAT would be read too; leave them out.
          const kept = parts.filter(
            (part) => part.expected !== undefined || !/^(l402|lsat)\b/i.test(part.text),
          );
          const header = kept.map((part) => part.text).join(`,${space}`);
          const expected = kept.flatMap((part) =>
            part.expected === undefined ? [] : [part.expected],
          );
          expect(parseChallenges(header)).toEqual(expected);
          if (expected.length > 0) {
            const preferred =
              expected.find((challenge) => challenge.scheme === 'L402') ?? expected[0];
            expect(parseL402Challenge(header)).toEqual(preferred);
          } else {
            expect(() => parseL402Challenge(header)).toThrow(MalformedChallengeError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses random and mutated headers with MalformedChallengeError only', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, mutated(challengeArbitrary.map((c) => c.text))), (header) => {
        for (const challenge of parseChallenges(header)) {
          expect(['L402', 'LSAT']).toContain(challenge.scheme);
          expect(challenge.macaroon.length).toBeGreaterThan(0);
          expect(challenge.invoice.length).toBeGreaterThan(0);
        }
        onlyThrows(MalformedChallengeError, () => parseL402Challenge(header));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('credential properties', () => {
  it('reads back what it formats, in any base64 spelling and hex case', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        hex32,
        fc.constantFrom('L402', 'LSAT') as fc.Arbitrary<'L402' | 'LSAT'>,
        fc.boolean(),
        fc.boolean(),
        (bytes, preimage, scheme, urlSafe, upper) => {
          let macaroon = encodeBase64(bytes);
          if (urlSafe)
            macaroon = macaroon.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
          const header = formatCredential({
            scheme,
            macaroon,
            preimage: upper ? preimage.toUpperCase() : preimage,
          });
          expect(header).toMatch(/^(L402|LSAT) [^\s:]+:[0-9a-f]{64}$/);
          expect(parseCredential(header)).toEqual({ scheme, macaroon, preimage });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses random and mutated credentials with MalformedCredentialError only', () => {
    const valid = fc
      .tuple(base64Value, hex32)
      .map(([macaroon, preimage]) => formatCredential({ macaroon, preimage }));
    fc.assert(
      fc.property(fc.oneof(anyText, mutated(valid)), anyText, (header, preimage) => {
        onlyThrows(MalformedCredentialError, () => parseCredential(header));
        onlyThrows(MalformedCredentialError, () =>
          formatCredential({ macaroon: header, preimage }),
        );
      }),
      { numRuns: 2000 },
    );
  });
});
