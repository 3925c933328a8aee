// Fuzzing of the paywall's credential check: random, mutated and deliberately forged
// credentials. verifyCredential never throws, and it accepts a credential only when it is one
// the server really sold, for the path and method it was sold for, before it expired. A paywall
// that prices by request accepts a token only for a request that costs no more than it paid.
import { randomBytes } from 'node:crypto';
import {
  addCaveats,
  decodeMacaroon,
  DEFAULT_FEE_LIMIT,
  decodeInvoice,
  formatCredential,
  L402Error,
  maxFeeFor,
  mintMacaroon,
  parseCredential,
  parseL402Challenge,
  sha256Hex,
} from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { createPaywall, type PaywallOptions } from '@l402kit/server';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { anyText, cases, mutated } from './support/fuzz.js';

interface Sold {
  path: string;
  method: string;
  macaroon: string;
  preimage: string;
  paymentHash: string;
  credential: string;
}

const network = createSandboxNetwork();
const merchant = network.createNode({ name: 'merchant' });
const payer = network.createNode({ name: 'payer', balanceSats: 10_000 });
const rootKey = randomBytes(32);
const options: PaywallOptions = {
  wallet: merchant.wallet,
  rootKey,
  serviceName: 'fuzz',
  price: 5,
  bindToPath: true,
  bindToMethod: true,
  validForSeconds: 3_600,
  capabilities: ['read'],
};
const paywall = createPaywall(options);
const origin = 'http://api.example';
const sold: Sold[] = [];
const paths = ['/a', '/b', '/articles/1', '/articles/2'];
const methods = ['GET', 'POST', 'DELETE'];

/**
 * The parts of a macaroon its signature covers: identifier, caveats and the signature itself.
 * The location is a hint the signature does not cover, so a changed location is the same token.
 */
function authenticatedParts(macaroon: string) {
  const { identifier, caveats, signature } = decodeMacaroon(macaroon);
  return { identifier, caveats, signature };
}

beforeAll(async () => {
  // Buy one token per path and method pair, as a client would: 402, pay, credential.
  for (const path of paths) {
    for (const method of methods.slice(0, 2)) {
      const result = await paywall.authorize(new Request(`${origin}${path}`, { method }));
      if (result.ok) throw new Error('an unpaid request was let through');
      const challenge = parseL402Challenge(result.response.headers.get('www-authenticate'));
      const invoice = decodeInvoice(challenge.invoice);
      const { preimage } = await payer.wallet.payInvoice({
        invoice: challenge.invoice,
        amountMsat: invoice.amountMsat!,
        paymentHash: invoice.paymentHash,
        maxFeeMsat: maxFeeFor(invoice.amountMsat!, DEFAULT_FEE_LIMIT),
        timeoutMs: 5_000,
      });
      const credential = formatCredential({ macaroon: challenge.macaroon, preimage });
      expect(paywall.verifyCredential(credential, { path, method }).ok).toBe(true);
      sold.push({
        path,
        method,
        macaroon: challenge.macaroon,
        preimage,
        paymentHash: invoice.paymentHash,
        credential,
      });
    }
  }
});

const scope = fc.record({
  path: fc.constantFrom(...paths, '/', '/a/', '/A'),
  method: fc.constantFrom(...methods),
});

/** When a credential is accepted it must be one that was sold, used where it was sold for. */
function acceptedOnlyIfSold(header: string, where: { path: string; method: string }): void {
  const result = paywall.verifyCredential(header, where);
  if (!result.ok) return;
  const credential = parseCredential(header);
  const original = sold.find((token) => token.paymentHash === result.token.paymentHash);
  expect(original, 'accepted a token that was never sold').toBeDefined();
  expect(authenticatedParts(credential.macaroon)).toEqual(authenticatedParts(original!.macaroon));
  expect(credential.preimage.toLowerCase()).toBe(original!.preimage);
  expect(where).toEqual({ path: original!.path, method: original!.method });
}

describe('paywall credential check under fuzzing', () => {
  it('random Authorization values are refused without throwing', () => {
    fc.assert(
      fc.property(anyText, scope, (header, where) => {
        expect(paywall.verifyCredential(header, where).ok).toBe(false);
        expect(paywall.verifyCredential(`L402 ${header}`, where).ok).toBe(false);
      }),
      { numRuns: cases('paywallRandom') },
    );
  });

  it('mutated real credentials are accepted only as the credential that was sold', () => {
    const real = fc
      .constantFrom(...Array.from({ length: 8 }, (_, index) => index))
      .map((index) => sold[index]!.credential);
    fc.assert(fc.property(mutated(real), scope, acceptedOnlyIfSold), {
      numRuns: cases('paywallMutated'),
    });
  });

  it('forged credentials are never accepted', () => {
    const token = fc
      .constantFrom(...Array.from({ length: 8 }, (_, index) => index))
      .map((index) => sold[index]!);
    const later = createPaywall({ ...options, now: () => new Date(Date.now() + 7_200_000) });
    const otherService = createPaywall({ ...options, serviceName: 'other' });
    const forgery = fc.oneof(
      // A sold macaroon with a guessed preimage.
      fc.tuple(token, fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([sold, bytes]) => ({
        header: formatCredential({
          macaroon: sold.macaroon,
          preimage: Buffer.from(bytes).toString('hex'),
        }),
        where: { path: sold.path, method: sold.method },
        verifier: paywall,
      })),
      // A macaroon minted with another key for a hash whose preimage the forger knows.
      fc
        .tuple(token, fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean())
        .map(([sold, preimageBytes, copyHash]) => {
          const preimage = Buffer.from(preimageBytes).toString('hex');
          const paymentHash = copyHash ? sold.paymentHash : sha256Hex(preimageBytes);
          const macaroon = mintMacaroon({
            rootKey: randomBytes(32),
            identifier: { version: 0, paymentHash, tokenId: randomBytes(32).toString('hex') },
            location: 'fuzz',
            caveats: ['services=fuzz:0', `fuzz_path=${sold.path}`, `fuzz_method=${sold.method}`],
          });
          return {
            header: formatCredential({ macaroon, preimage: copyHash ? sold.preimage : preimage }),
            where: { path: sold.path, method: sold.method },
            verifier: paywall,
          };
        }),
      // A real credential used on another path or with another method.
      fc
        .tuple(token, scope)
        .filter(([sold, where]) => sold.path !== where.path || sold.method !== where.method)
        .map(([sold, where]) => ({ header: sold.credential, where, verifier: paywall })),
      // A real credential with caveats the buyer added, used beyond what it was sold for.
      fc
        .tuple(token, fc.array(anyText, { minLength: 1, maxLength: 3 }), scope)
        .filter(([sold, , where]) => sold.path !== where.path || sold.method !== where.method)
        .map(([sold, extra, where]) => {
          let macaroon = sold.macaroon;
          try {
            macaroon = addCaveats(sold.macaroon, [
              `fuzz_path=${where.path}`,
              `fuzz_method=${where.method}`,
              ...extra,
            ]);
          } catch (error) {
            if (!(error instanceof L402Error)) throw error;
          }
          return {
            header: formatCredential({ macaroon, preimage: sold.preimage }),
            where,
            verifier: paywall,
          };
        }),
      // A real credential after its expiry, or at a service it was not sold for.
      fc.tuple(token, fc.boolean()).map(([sold, expired]) => ({
        header: sold.credential,
        where: { path: sold.path, method: sold.method },
        verifier: expired ? later : otherService,
      })),
    );
    fc.assert(
      fc.property(forgery, ({ header, where, verifier }) => {
        expect(verifier.verifyCredential(header, where).ok).toBe(false);
      }),
      { numRuns: cases('paywallForged') },
    );
  });
});

// A seller that prices by path, query, method and body (issue 17's sellers price by request).
const pricedPaywall = createPaywall({
  wallet: merchant.wallet,
  rootKey: randomBytes(32),
  serviceName: 'priced',
  price: async (request) =>
    expectedSats(request.method, new URL(request.url), await request.text()),
});

/** The seller's price list, also the test's reference for what a request costs. */
function expectedSats(method: string, url: URL, body: string): number {
  if (method === 'HEAD') return 1;
  let sats = url.pathname === '/premium' ? 1_000 : url.pathname.startsWith('/reports/') ? 20 : 2;
  if (url.searchParams.get('size') === 'large') sats *= 10;
  return sats + body.length;
}

// Spellings of a path and the resource each one means; undefined: refused (400).
const spellings: Array<[string, string | undefined]> = [
  ['/cheap', '/cheap'],
  ['/%63heap', '/cheap'],
  ['/%63HEAP', '/cHEAP'],
  ['/premium', '/premium'],
  ['/%70remium', '/premium'],
  ['/cheap/../premium', '/premium'],
  ['/cheap/%2e%2e/premium', '/premium'],
  ['/reports/1', '/reports/1'],
  ['/reports/%31', '/reports/1'],
  ['/reports/1/', '/reports/1/'],
  ['//premium', undefined],
  ['/cheap//premium', undefined],
  ['/cheap%zz', undefined],
];
const queries = ['', '?size=small', '?size=large', '?size=large&size=small', '?a=1&size=large'];
const bodies = ['', 'abc', 'x'.repeat(40)];

interface PricedSale {
  path: string;
  paidSats: number;
  macaroon: string;
  preimage: string;
  paymentHash: string;
}
const pricedSold: PricedSale[] = [];

async function buyPriced(method: string, path: string, body: string): Promise<void> {
  const result = await pricedPaywall.authorize(
    new Request(`${origin}${path}`, { method, ...(body === '' ? {} : { body }) }),
  );
  if (result.ok) throw new Error('an unpaid request was let through');
  const challenge = parseL402Challenge(result.response.headers.get('www-authenticate'));
  const invoice = decodeInvoice(challenge.invoice);
  const { preimage } = await payer.wallet.payInvoice({
    invoice: challenge.invoice,
    amountMsat: invoice.amountMsat!,
    paymentHash: invoice.paymentHash,
    maxFeeMsat: maxFeeFor(invoice.amountMsat!, DEFAULT_FEE_LIMIT),
    timeoutMs: 5_000,
  });
  pricedSold.push({
    path: new URL(`${origin}${path}`).pathname,
    paidSats: Number(invoice.amountMsat! / 1_000n),
    macaroon: challenge.macaroon,
    preimage,
    paymentHash: invoice.paymentHash,
  });
}

describe('a paywall that prices by request, under fuzzing', () => {
  beforeAll(async () => {
    await buyPriced('GET', '/cheap', '');
    await buyPriced('HEAD', '/cheap', '');
    await buyPriced('GET', '/cheap?size=large', '');
    await buyPriced('GET', '/premium', '');
    await buyPriced('POST', '/reports/1', 'abc');
    await buyPriced('POST', '/reports/1', 'x'.repeat(40));
  });

  it('issue 11 item 11: accepts a token only for its path and a request that costs no more than it paid', async () => {
    const request = fc.record({
      sale: fc.nat({ max: 5 }),
      spelling: fc.constantFrom(...spellings),
      query: fc.constantFrom(...queries),
      method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT'),
      body: fc.constantFrom(...bodies),
      override: fc.constantFrom(undefined, 'GET', 'HEAD', 'DELETE'),
      // Caveats a buyer appends to try to widen the token.
      added: fc.array(
        fc.oneof(
          fc.constantFrom(
            'priced_paid_msat=1000000000',
            'priced_paid_msat=1',
            'priced_path=/premium',
            'priced_path=/cheap',
            'services=priced:9',
            'services=other:0',
          ),
          anyText,
        ),
        { maxLength: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(request, async (drawn) => {
        const sale = pricedSold[drawn.sale]!;
        let macaroon = sale.macaroon;
        if (drawn.added.length > 0) {
          try {
            macaroon = addCaveats(sale.macaroon, drawn.added);
          } catch (error) {
            if (!(error instanceof L402Error)) throw error;
          }
        }
        const body = drawn.method === 'POST' || drawn.method === 'PUT' ? drawn.body : '';
        const [spelled, meaning] = drawn.spelling;
        const headers: Record<string, string> = {
          authorization: formatCredential({ macaroon, preimage: sale.preimage }),
        };
        if (drawn.override !== undefined) headers['x-http-method-override'] = drawn.override;
        const result = await pricedPaywall.authorize(
          new Request(`${origin}${spelled}${drawn.query}`, {
            method: drawn.method,
            headers,
            ...(body === '' ? {} : { body }),
          }),
        );
        if (meaning === undefined) {
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.response.status).toBe(400);
          return;
        }
        const cost = expectedSats(drawn.method, new URL(`${origin}${meaning}${drawn.query}`), body);
        if (result.ok) {
          expect(result.token?.paymentHash).toBe(sale.paymentHash);
          expect(meaning).toBe(sale.path);
          expect(cost).toBeLessThanOrEqual(sale.paidSats);
        } else {
          // Charged again, at what this request costs now.
          expect(result.response.status).toBe(402);
          expect(await result.response.json()).toMatchObject({ price_sats: cost });
        }
      }),
      { numRuns: cases('paywallPriced') },
    );
  });
});
