import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedChallengeError } from '../errors.js';
import { mintMacaroon } from './macaroon.js';
import {
  type L402Challenge,
  parseChallenges,
  parseL402Challenge,
  selectChallenge,
} from './parse-challenge.js';

// A real macaroon: standard base64 with '+', '/' and '=' somewhere is likely; force padding.
function macaroonWithPadding(): string {
  for (;;) {
    const macaroon = mintMacaroon({
      rootKey: randomBytes(32),
      identifier: {
        version: 0,
        paymentHash: randomBytes(32).toString('hex'),
        tokenId: randomBytes(32).toString('hex'),
      },
      location: 'l402kit',
      caveats: ['services=search:0'],
    });
    if (macaroon.endsWith('=') && /[+/]/.test(macaroon)) return macaroon;
  }
}
const macaroon = macaroonWithPadding();
const invoice = 'lnbcrt10n1pjexampleinvoicexyz';

describe('parseChallenges', () => {
  it('reads the bLIP-26 / aperture form', () => {
    expect(parseChallenges(`L402 macaroon="${macaroon}", invoice="${invoice}"`)).toEqual([
      { scheme: 'L402', macaroon, invoice, params: { macaroon, invoice } },
    ]);
  });

  it('reads the current Lightning Labs form with version and token', () => {
    const [challenge] = parseChallenges(
      `L402 version="0", token="${macaroon}", invoice="${invoice}"`,
    );
    expect(challenge).toEqual({
      scheme: 'L402',
      macaroon,
      invoice,
      version: '0',
      params: { version: '0', token: macaroon, invoice },
    });
  });

  it('reads the legacy LSAT scheme and any scheme case', () => {
    const header = `lsat macaroon="${macaroon}", invoice="${invoice}", l402 macaroon="${macaroon}", invoice="${invoice}"`;
    expect(parseChallenges(header).map((challenge) => challenge.scheme)).toEqual(['LSAT', 'L402']);
  });

  it("splits aperture's two header lines as Fetch joins them", () => {
    const line = `macaroon="${macaroon}", invoice="${invoice}"`;
    const joined = new Headers([
      ['WWW-Authenticate', `LSAT ${line}`],
      ['WWW-Authenticate', `L402 ${line}`],
    ]).get('www-authenticate');
    expect(joined).toBe(`LSAT ${line}, L402 ${line}`);
    const challenges = parseChallenges(joined as string);
    expect(challenges).toHaveLength(2);
    expect(challenges.every((challenge) => challenge.macaroon === macaroon)).toBe(true);
    expect(selectChallenge(challenges)?.scheme).toBe('L402');
  });

  it('reads bare (unquoted) base64 values with padding, "/" and "+"', () => {
    const header = `L402 macaroon=${macaroon}, invoice=${invoice},LSAT token=${macaroon},invoice=${invoice}`;
    expect(
      parseChallenges(header).map(({ scheme, macaroon, invoice }) => ({
        scheme,
        macaroon,
        invoice,
      })),
    ).toEqual([
      { scheme: 'L402', macaroon, invoice },
      { scheme: 'LSAT', macaroon, invoice },
    ]);
  });

  it('allows whitespace around "=" and between parameters', () => {
    const [challenge] = parseChallenges(
      `  L402   macaroon = "${macaroon}" ,\tinvoice =${invoice}  ,  `,
    );
    expect(challenge?.macaroon).toBe(macaroon);
    expect(challenge?.invoice).toBe(invoice);
  });

  it('unescapes quoted strings and keeps quoted commas', () => {
    const [challenge] = parseChallenges(
      `L402 realm="a, \\"b\\" \\\\ c", macaroon="${macaroon}", invoice="${invoice}"`,
    );
    expect(challenge?.params.realm).toBe('a, "b" \\ c');
    expect(challenge?.macaroon).toBe(macaroon);
  });

  it('skips other schemes, including ones with many or quoted-comma parameters', () => {
    const header = [
      'Basic realm="x"',
      'Bearer',
      'Negotiate abc==',
      `Payment id="p1", realm="api", method="lightning", intent="charge", request="eyJhIjoiYiJ9"`,
      'Digest realm="r", qop="auth,auth-int", nonce="n", opaque="o", algorithm=SHA-256',
      `L402 macaroon="${macaroon}", invoice="${invoice}"`,
      'Bearer realm="y", error="invalid_token"',
    ].join(', ');
    const challenges = parseChallenges(header);
    expect(challenges).toHaveLength(1);
    expect(challenges[0]?.macaroon).toBe(macaroon);
    expect(challenges[0]?.params).toEqual({ macaroon, invoice });
  });

  it('does not take a parameter of another scheme for its own', () => {
    const header = `Payment invoice="lnbc1other", macaroon="other", L402 macaroon="${macaroon}", invoice="${invoice}"`;
    expect(parseChallenges(header)).toEqual([
      { scheme: 'L402', macaroon, invoice, params: { macaroon, invoice } },
    ]);
  });

  it('ignores unknown parameters but keeps them in params, names in lower case', () => {
    const [challenge] = parseChallenges(
      `L402 Macaroon="${macaroon}", INVOICE="${invoice}", price=10, note="hi"`,
    );
    expect(challenge?.params).toEqual({ macaroon, invoice, price: '10', note: 'hi' });
  });

  it('keeps "__proto__" as an ordinary parameter', () => {
    const [challenge] = parseChallenges(
      `L402 __proto__="x", macaroon="${macaroon}", invoice="${invoice}"`,
    );
    expect(Object.getPrototypeOf(challenge?.params)).toBe(Object.prototype);
    expect(Object.hasOwn(challenge?.params ?? {}, '__proto__')).toBe(true);
  });

  it.each([
    ['no invoice', `L402 macaroon="${macaroon}"`],
    ['no macaroon', `L402 invoice="${invoice}"`],
    ['an empty macaroon', `L402 macaroon="", invoice="${invoice}"`],
    ['a token68 instead of parameters', `L402 ${macaroon}`],
    ['two invoices', `L402 macaroon="${macaroon}", invoice="${invoice}", invoice="lnbc1x"`],
    [
      'macaroon and token that differ',
      `L402 macaroon="${macaroon}", token="AAAA", invoice="${invoice}"`,
    ],
    ['an unterminated quote', `L402 macaroon="${macaroon}", invoice="${invoice}`],
  ])('skips a challenge with %s', (_name, header) => {
    expect(parseChallenges(header)).toEqual([]);
  });

  it('accepts macaroon and token when they agree', () => {
    const [challenge] = parseChallenges(
      `L402 macaroon="${macaroon}", token="${macaroon}", invoice="${invoice}"`,
    );
    expect(challenge?.macaroon).toBe(macaroon);
  });

  it('returns nothing for empty or unrelated values', () => {
    for (const header of ['', ',,,', '   ', 'Basic', '=', '"', 'L402', '"quoted" L402']) {
      expect(parseChallenges(header)).toEqual([]);
    }
  });
});

describe('parseChallenges: quoted and bare values of any length', () => {
  it('reads back any quoted value, escapes and all, and any bare value up to a comma or space', () => {
    const quote = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    const bare = fc.string({ unit: fc.constantFrom(...'AZaz09+/=-_.:'), minLength: 1 });
    fc.assert(
      fc.property(
        fc.string({ maxLength: 2_000 }),
        bare,
        fc.constantFrom(',', ', ', ' ,\t'),
        (quoted, unquoted, separator) => {
          const header = `L402 macaroon=${quote(quoted)}${separator}invoice=${unquoted}, other=${quote(quoted)}`;
          const [challenge] = parseChallenges(header);
          if (quoted === '') {
            expect(challenge).toBeUndefined();
            return;
          }
          expect(challenge).toMatchObject({ macaroon: quoted, invoice: unquoted });
          expect(challenge?.params.other).toBe(quoted);
          // Cut off before its closing quote, the challenge is unusable.
          expect(
            parseChallenges(`L402 invoice=${unquoted}, macaroon=${quote(quoted).slice(0, -1)}`),
          ).toEqual([]);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('reads escaped quotes and backslashes inside a value; a value that never closes runs to the end', () => {
    expect(parseChallenges('Basic realm="a\\"b, c", L402 macaroon="m\\\\", invoice="i"')).toEqual([
      { scheme: 'L402', macaroon: 'm\\', invoice: 'i', params: { macaroon: 'm\\', invoice: 'i' } },
    ]);
    expect(parseChallenges('L402 macaroon="m\\", invoice="i"')).toEqual([]);
    // The escaped quote does not end the value: the next quote does.
    expect(
      parseChallenges('L402 invoice="i", macaroon="m\\", L402 macaroon="n", invoice="j"')[0]
        ?.macaroon,
    ).toBe('m", L402 macaroon=');
  });
});

describe('selectChallenge', () => {
  const lsat: L402Challenge = { scheme: 'LSAT', macaroon: 'a', invoice: 'b', params: {} };
  const l402: L402Challenge = { scheme: 'L402', macaroon: 'c', invoice: 'd', params: {} };
  it('prefers L402 over LSAT, else the first', () => {
    expect(selectChallenge([lsat, l402])).toBe(l402);
    expect(selectChallenge([lsat])).toBe(lsat);
    expect(selectChallenge([])).toBeUndefined();
  });
});

describe('parseL402Challenge', () => {
  it('returns the preferred challenge', () => {
    const header = `LSAT macaroon="${macaroon}", invoice="lnbc1first", L402 version="0", token="${macaroon}", invoice="${invoice}"`;
    expect(parseL402Challenge(header)).toMatchObject({ scheme: 'L402', invoice, version: '0' });
  });

  it('falls back to a complete LSAT challenge when the L402 one is incomplete', () => {
    const header = `L402 macaroon="${macaroon}", LSAT macaroon="${macaroon}", invoice="${invoice}"`;
    expect(parseL402Challenge(header).scheme).toBe('LSAT');
  });

  it.each([
    [null, /no WWW-Authenticate/],
    [undefined, /no WWW-Authenticate/],
    ['  ', /no WWW-Authenticate/],
    ['Basic realm="x", Payment id="1"', /no L402 or LSAT challenge \(offered: Basic, Payment\)/],
    [`L402 macaroon="${macaroon}"`, /L402 challenge has no invoice parameter/],
    [`LSAT invoice="${invoice}"`, /LSAT challenge has no macaroon \(or token\) parameter/],
    ['L402 version="0"', /no macaroon \(or token\) parameter and has no invoice parameter/],
    [`L402 macaroon="${macaroon}", invoice="x", invoice="y"`, /repeats the invoice parameter/],
    [`L402 macaroon="${macaroon}`, /unterminated/],
    ['"', /no readable challenge/],
  ])('explains what is wrong with %s', (header, message) => {
    expect(() => parseL402Challenge(header)).toThrow(MalformedChallengeError);
    expect(() => parseL402Challenge(header)).toThrow(message);
  });

  it('never repeats the macaroon in its message', () => {
    try {
      parseL402Challenge(`L402 macaroon="${macaroon}", invoice="x", invoice="y"`);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(macaroon.slice(0, 16));
    }
  });
});
