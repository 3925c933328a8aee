import { describe, expect, it } from 'vitest';
import { CorruptTokenFileError, formatTokenFile, parseTokenFile } from './token-file-format.js';
import { type StoredToken, TokenIndex, tokenTarget } from './token-store.js';

function token(path: string, extra: Partial<StoredToken> = {}): StoredToken {
  return {
    ...tokenTarget(new URL(`https://api.example.com${path}`), 'GET'),
    scheme: 'L402',
    macaroon: 'AgEEbHNhdAJCAAD3',
    preimage: 'ab'.repeat(32),
    paymentHash: 'cd'.repeat(32),
    invoice: 'lnbcrt10n1example',
    // Above 2^53: amounts must survive the file exactly.
    amountMsat: 9_007_199_254_740_993n,
    feeMsat: 3n,
    state: 'paid',
    createdAt: 1_000,
    ...extra,
  };
}

describe('the token file format', () => {
  it('reads back what it wrote: exact amounts, optional fields left out, payment loops', () => {
    const pending = token('/b', { state: 'pending', expiresAt: 5_000 });
    delete pending.preimage;
    const index = new TokenIndex([token('/a'), pending]);
    index.loops.record({
      key: 'https://api.example.com GET /a',
      origin: 'https://api.example.com',
      scope: '/a',
      method: 'GET',
      amountMsat: 10_000n,
      paymentHash: 'ef'.repeat(32),
      at: 2_000,
    });
    const text = formatTokenFile(index);
    // One token or loop a line, so a diff of two versions shows what changed.
    expect(text.split('\n').filter((line) => line.startsWith('{"key"'))).toHaveLength(3);
    const read = parseTokenFile(text);
    expect(read.values()).toEqual(index.values());
    expect(read.values()[1]).not.toHaveProperty('preimage');
    expect(read.loops.values()).toEqual(index.loops.values());
  });

  it('reads a file written before payment loops were recorded', () => {
    const text = formatTokenFile(new TokenIndex([token('/a')]));
    expect(text).not.toContain('"loops"');
    expect(parseTokenFile(text).loops.values()).toEqual([]);
  });

  it.each([
    ['not JSON', '{"format":', /not valid JSON/],
    ['another file', '{"tokens":[]}', /not an l402kit token file/],
    ['a newer version', '{"format":"l402kit-tokens","version":2,"tokens":[]}', /version 2/],
    ['no token list', '{"format":"l402kit-tokens","version":1}', /no token list/],
    [
      'a broken loop list',
      '{"format":"l402kit-tokens","version":1,"tokens":[],"loops":{}}',
      /payment loop list is not a list/,
    ],
    [
      'an invalid token',
      '{"format":"l402kit-tokens","version":1,"tokens":[{"key":"k","origin":"https://a.test","scope":"/","scheme":"L402","macaroon":"m","paymentHash":"x","invoice":"i","amountMsat":"1.5","feeMsat":"0","state":"paid","createdAt":1}]}',
      /token 0: amountMsat must be a decimal string/,
    ],
  ])('refuses %s with a reason, never a partial index', (_name, text, reason) => {
    let error: unknown;
    try {
      parseTokenFile(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CorruptTokenFileError);
    expect((error as Error).message).toMatch(reason);
  });
});
