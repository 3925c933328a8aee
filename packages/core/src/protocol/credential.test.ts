import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatCredential, parseCredential } from './credential.js';
import { MalformedCredentialError } from '../errors.js';
import { mintMacaroon } from './macaroon.js';

const macaroon = mintMacaroon({
  rootKey: randomBytes(32),
  identifier: {
    version: 0,
    paymentHash: randomBytes(32).toString('hex'),
    tokenId: randomBytes(32).toString('hex'),
  },
  location: 'l402kit',
});
const preimage = randomBytes(32).toString('hex');

describe('formatCredential', () => {
  it('writes the form aperture accepts: upper-case scheme, lower-case hex', () => {
    const header = formatCredential({ macaroon, preimage: preimage.toUpperCase() });
    expect(header).toBe(`L402 ${macaroon}:${preimage}`);
    // aperture's own regular expression.
    const match = /(LSAT|L402) (.*?):([a-f0-9]{64})/.exec(header);
    expect(match?.[2]).toBe(macaroon);
    expect(match?.[3]).toBe(preimage);
  });

  it('uses the scheme the server offered', () => {
    expect(formatCredential({ scheme: 'LSAT', macaroon, preimage })).toBe(
      `LSAT ${macaroon}:${preimage}`,
    );
    expect(
      formatCredential({ scheme: 'lsat' as 'LSAT', macaroon, preimage }).startsWith('LSAT '),
    ).toBe(true);
  });

  it.each([
    ['a short preimage', { macaroon, preimage: 'ab' }],
    ['a non-hex preimage', { macaroon, preimage: 'g'.repeat(64) }],
    ['an empty macaroon', { macaroon: '', preimage }],
    ['a macaroon that is not base64', { macaroon: 'abc def', preimage }],
    ['a macaroon with a colon', { macaroon: `${macaroon}:x`, preimage }],
    ['an unknown scheme', { scheme: 'Bearer' as 'L402', macaroon, preimage }],
  ])('refuses %s', (_name, credential) => {
    expect(() => formatCredential(credential)).toThrow(MalformedCredentialError);
  });

  it('never repeats the preimage in its message', () => {
    try {
      formatCredential({ macaroon: '!', preimage });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(preimage);
    }
  });
});

describe('parseCredential', () => {
  it('reads what formatCredential writes', () => {
    expect(parseCredential(formatCredential({ macaroon, preimage }))).toEqual({
      scheme: 'L402',
      macaroon,
      preimage,
    });
  });

  it('accepts any scheme case, upper-case hex, extra spaces and url-safe base64', () => {
    const urlSafe = macaroon.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
    expect(parseCredential(`  lsat \t${urlSafe}:${preimage.toUpperCase()} `)).toEqual({
      scheme: 'LSAT',
      macaroon: urlSafe,
      preimage,
    });
  });

  it.each([
    ['nothing', undefined],
    ['null', null],
    ['an empty value', ''],
    ['another scheme', `Bearer ${macaroon}:${preimage}`],
    ['no token', 'L402'],
    ['no colon', `L402 ${macaroon}${preimage}`],
    ['no macaroon', `L402 :${preimage}`],
    ['a short preimage', `L402 ${macaroon}:${preimage.slice(2)}`],
    ['a space inside the token', `L402 ${macaroon} :${preimage}`],
    ['two credentials', `L402 ${macaroon}:${preimage}, L402 ${macaroon}:${preimage}`],
    ['a macaroon that is not base64', `L402 ${macaroon}!:${preimage}`],
  ])('refuses %s', (_name, header) => {
    expect(() => parseCredential(header)).toThrow(MalformedCredentialError);
  });
});
