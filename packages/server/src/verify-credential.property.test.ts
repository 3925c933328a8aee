import { decodeMacaroon, parseCredential } from '@l402kit/core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFixture, payChallenge } from './test-helpers.js';

const fixture = createFixture({ bindToPath: true, bindToMethod: true, validForSeconds: 3600 });
const scope = { path: '/search', method: 'GET' };
let paid: Awaited<ReturnType<typeof payChallenge>>;

beforeAll(async () => {
  const handler = fixture.paywall.handler(() => new Response('ok'));
  paid = await payChallenge(fixture.buyer, await handler(new Request('http://localhost/search')));
  expect(fixture.paywall.verifyCredential(paid.authorization, scope).ok).toBe(true);
});

const base64Characters = fc.constantFrom(
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_'.split(''),
);
const hexCharacters = fc.constantFrom(...'0123456789abcdefABCDEF'.split(''));

/** Headers that look more or less like credentials, and plain noise. */
const randomHeaders = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc
    .tuple(
      fc.constantFrom('L402', 'LSAT', 'l402', 'Bearer', 'Basic', ''),
      fc.string({ unit: base64Characters, maxLength: 400 }),
      fc.string({ unit: hexCharacters, minLength: 60, maxLength: 68 }),
    )
    .map(([scheme, macaroon, preimage]) => `${scheme} ${macaroon}:${preimage}`),
);

/** The paid credential with a few characters changed, inserted or removed. */
const mutatedCredentials = fc
  .array(
    fc.tuple(fc.nat(), fc.constantFrom('replace', 'insert', 'delete'), fc.string({ maxLength: 2 })),
    { minLength: 1, maxLength: 4 },
  )
  .map((edits) => {
    let text = paid.authorization;
    for (const [position, kind, value] of edits) {
      const at = position % (text.length + 1);
      if (kind === 'insert') text = text.slice(0, at) + value + text.slice(at);
      else if (kind === 'delete') text = text.slice(0, at) + text.slice(at + 1);
      else text = text.slice(0, at) + value + text.slice(at + 1);
    }
    return text;
  });

/** Access is only ever granted to the credential that was paid, however it is spelled. */
function grantsOnlyThePaidToken(header: string): void {
  const result = fixture.paywall.verifyCredential(header, scope);
  if (!result.ok) return;
  const credential = parseCredential(header);
  expect(credential.preimage).toBe(paid.preimage);
  expect(result.token.paymentHash).toBe(paid.invoice.paymentHash);
  // The location is not signed in any macaroon implementation (it is a hint), so compare the rest.
  const { location: _, base64: __, ...presented } = decodeMacaroon(credential.macaroon);
  const { location: ___, base64: ____, ...original } = decodeMacaroon(paid.challenge.macaroon);
  expect(presented).toEqual(original);
}

describe('verifyCredential on hostile input', () => {
  it('never throws and never grants access to a random header', () => {
    fc.assert(
      fc.property(randomHeaders, (header) => {
        expect(fixture.paywall.verifyCredential(header, scope).ok).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it('never grants access to a mutated credential unless it is the same credential', () => {
    fc.assert(fc.property(mutatedCredentials, grantsOnlyThePaidToken), { numRuns: 2_000 });
  });

  it('answers random headers through the handler with a 402, never with the resource', async () => {
    const handler = fixture.paywall.handler(() => new Response('the resource'));
    await fc.assert(
      fc.asyncProperty(randomHeaders, async (header) => {
        let request: Request;
        try {
          request = new Request('http://localhost/search', { headers: { Authorization: header } });
        } catch {
          return; // Fetch refuses some header values before they reach any server.
        }
        const response = await handler(request);
        expect(response.status).toBe(402);
      }),
      { numRuns: 100 },
    );
  });
});
