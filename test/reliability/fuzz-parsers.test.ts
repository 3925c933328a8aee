// Fuzzing of every parser l402kit runs on input it does not control: random text and
// mutations of valid values. Each parser either returns a well-formed value or throws its own
// typed error; never a TypeError, RangeError or a hang. Case counts: support/fuzz.ts.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  caveatValues,
  createSpendLog,
  decodeBase64,
  decodeIdentifier,
  decodeInvoice,
  decodeMacaroon,
  FileTokenStore,
  formatCredential,
  hexToBytes,
  isPreimageFor,
  L402Error,
  MalformedChallengeError,
  MalformedCredentialError,
  MalformedInvoiceError,
  MalformedMacaroonError,
  macaroonExpiry,
  mintMacaroon,
  parseCaveat,
  parseChallenges,
  parseCredential,
  parseL402Challenge,
  selectChallenge,
  TokenStoreError,
} from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyText, cases, mutated, onlyThrows } from './support/fuzz.js';

const HEX64 = /^[0-9a-f]{64}$/;

// Real values to mutate: sandbox invoices (signed BOLT11) and macaroons bound to them.
const network = createSandboxNetwork();
const merchant = network.createNode({ name: 'merchant' });
const rootKey = randomBytes(32);
const offers = Array.from({ length: 12 }, (_, index) => {
  const { invoice, paymentHash, preimage } = merchant.createInvoice({
    amountSats: 1 + index * 7,
    description: index % 2 === 0 ? 'fuzz' : '',
  });
  const macaroon = mintMacaroon({
    rootKey,
    identifier: { version: 0, paymentHash, tokenId: randomBytes(32).toString('hex') },
    location: 'fuzz',
    caveats: ['services=fuzz:0', 'fuzz_path=/a', `fuzz_valid_until=${1_900_000_000 + index}`],
  });
  return { invoice, paymentHash, preimage, macaroon };
});
const offer = fc.constantFrom(...offers);

const validChallenge = offer.chain(({ macaroon, invoice }) =>
  fc.constantFrom(
    `L402 macaroon="${macaroon}", invoice="${invoice}"`,
    `L402 version="0", token="${macaroon}", invoice="${invoice}"`,
    `LSAT macaroon="${macaroon}", invoice="${invoice}", L402 macaroon="${macaroon}", invoice="${invoice}"`,
    `Basic realm="x", L402 macaroon=${macaroon.replace(/=+$/, '')}, invoice=${invoice}`,
    `Payment id="1", l402 token="${macaroon.replaceAll('+', '-').replaceAll('/', '_')}", invoice="${invoice}", extra="a,b"`,
  ),
);
const validCredential = offer.chain(({ macaroon, preimage }) =>
  fc.constantFrom(`L402 ${macaroon}:${preimage}`, `LSAT ${macaroon}:${preimage.toUpperCase()}`),
);

describe('challenge parser (WWW-Authenticate)', () => {
  const check = (header: string) => {
    for (const challenge of parseChallenges(header)) {
      expect(['L402', 'LSAT']).toContain(challenge.scheme);
      expect(typeof challenge.macaroon).toBe('string');
      expect(typeof challenge.invoice).toBe('string');
    }
    selectChallenge(parseChallenges(header));
    const parsed = onlyThrows(MalformedChallengeError, () => parseL402Challenge(header));
    if (parsed !== undefined) {
      expect(parsed.macaroon.length).toBeGreaterThan(0);
      expect(parsed.invoice.length).toBeGreaterThan(0);
    }
  };

  it('random headers: challenges or MalformedChallengeError', () => {
    fc.assert(fc.property(anyText, check), { numRuns: cases('challengeRandom') });
  });

  it('mutated valid headers: challenges or MalformedChallengeError', () => {
    fc.assert(fc.property(mutated(validChallenge), check), {
      numRuns: cases('challengeMutated'),
    });
  });
});

describe('credential parser (Authorization)', () => {
  const check = (header: string) => {
    const parsed = onlyThrows(MalformedCredentialError, () => parseCredential(header));
    if (parsed === undefined) return;
    expect(['L402', 'LSAT']).toContain(parsed.scheme);
    expect(parsed.preimage.toLowerCase()).toMatch(HEX64);
    // What we read we can write back.
    formatCredential({ ...parsed, preimage: parsed.preimage.toLowerCase() });
  };

  it('random credentials: parsed or MalformedCredentialError', () => {
    fc.assert(fc.property(anyText, check), { numRuns: cases('credentialRandom') });
  });

  it('mutated valid credentials: parsed or MalformedCredentialError', () => {
    fc.assert(fc.property(mutated(validCredential), check), {
      numRuns: cases('credentialMutated'),
    });
  });
});

describe('macaroon decoder', () => {
  const check = (text: string) => {
    const decoded = onlyThrows(MalformedMacaroonError, () => decodeMacaroon(text));
    if (decoded === undefined) return;
    expect(decoded.identifier.paymentHash).toMatch(HEX64);
    expect(decoded.identifier.tokenId).toMatch(HEX64);
    expect(Array.isArray(decoded.caveats)).toBe(true);
  };

  it('random bytes as base64: decoded or MalformedMacaroonError', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes).toString('base64')),
      anyText,
    );
    fc.assert(fc.property(input, check), { numRuns: cases('macaroonRandom') });
  });

  it('mutated macaroons, as text and as bytes: decoded or MalformedMacaroonError', () => {
    const bytesMutated = fc
      .tuple(offer, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
      .map(([{ macaroon }, at, value, cut]) => {
        const bytes = Buffer.from(macaroon, 'base64');
        const index = at % bytes.length;
        const changed = cut ? bytes.subarray(0, index) : Buffer.from(bytes);
        if (!cut) changed[index] = value;
        return changed.toString('base64');
      });
    fc.assert(fc.property(fc.oneof(mutated(offer.map((o) => o.macaroon)), bytesMutated), check), {
      numRuns: cases('macaroonMutated'),
    });
  });

  it('identifiers of any bytes: decoded or MalformedMacaroonError', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc.uint8Array({ minLength: 66, maxLength: 66 }),
    );
    fc.assert(
      fc.property(input, (bytes) => {
        const identifier = onlyThrows(MalformedMacaroonError, () => decodeIdentifier(bytes));
        if (identifier !== undefined) expect(identifier.paymentHash).toMatch(HEX64);
      }),
      { numRuns: cases('identifier') },
    );
  });
});

describe('BOLT11 invoice decoder', () => {
  const check = (text: string) => {
    const decoded = onlyThrows(MalformedInvoiceError, () => decodeInvoice(text));
    if (decoded === undefined) return;
    expect(decoded.paymentHash).toMatch(HEX64);
    if (decoded.amountMsat !== undefined) expect(decoded.amountMsat > 0n).toBe(true);
    expect(Number.isNaN(decoded.expiresAt.getTime())).toBe(false);
  };

  it('random text: decoded or MalformedInvoiceError', () => {
    const input = fc.oneof(
      anyText,
      fc
        .string({ unit: fc.constantFrom(...'qpzry9x8gf2tvdw0s3jn54khce6mua7l1'.split('')) })
        .map((data) => `lnbcrt10n1${data}`),
    );
    fc.assert(fc.property(input, check), { numRuns: cases('invoiceRandom') });
  });

  it('mutated signed invoices: decoded or MalformedInvoiceError, never another payee', () => {
    fc.assert(
      fc.property(mutated(offer.map((o) => o.invoice)), (text) => {
        check(text);
        const decoded = onlyThrows(MalformedInvoiceError, () => decodeInvoice(text));
        // A mutation that still decodes must be the same invoice (e.g. in upper case).
        if (decoded !== undefined) {
          expect(offers.map((o) => o.paymentHash)).toContain(decoded.paymentHash);
          expect(decoded.payee).toBe(merchant.publicKey);
        }
      }),
      { numRuns: cases('invoiceMutated') },
    );
  });
});

describe('base64, hex and caveats', () => {
  it('decodeBase64 and hexToBytes throw only L402Error; isPreimageFor never throws', () => {
    fc.assert(
      fc.property(anyText, anyText, (first, second) => {
        onlyThrows(L402Error, () => decodeBase64(first));
        onlyThrows(L402Error, () => hexToBytes(first));
        expect(typeof isPreimageFor(first, second)).toBe('boolean');
      }),
      { numRuns: cases('base64AndHex') },
    );
  });

  it('caveat readers never throw and fail closed on a bad expiry', () => {
    const caveat = fc.oneof(
      anyText,
      anyText.map((value) => `svc_valid_until=${value}`),
      anyText.map((value) => `services=${value}`),
    );
    fc.assert(
      fc.property(fc.array(caveat, { maxLength: 6 }), (caveats) => {
        for (const text of caveats) parseCaveat(text);
        caveatValues(caveats, 'services');
        const expiry = macaroonExpiry(caveats);
        if (expiry !== undefined) expect(Number.isNaN(expiry.getTime())).toBe(false);
      }),
      { numRuns: cases('caveats') },
    );
  });
});

describe('files l402kit reads back', () => {
  let directory: string;
  let validFile: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'l402kit-fuzz-'));
    const store = new FileTokenStore(join(directory, 'valid.json'));
    for (const [index, { macaroon, preimage, paymentHash, invoice }] of offers
      .slice(0, 3)
      .entries()) {
      await store.put({
        key: `http://127.0.0.1:1 GET /a/${index}`,
        origin: 'http://127.0.0.1:1',
        scope: `/a/${index}`,
        method: 'GET',
        scheme: 'L402',
        macaroon,
        ...(index === 2 ? {} : { preimage }),
        paymentHash,
        invoice,
        amountMsat: 1_000n,
        feeMsat: 0n,
        state: index === 2 ? 'pending' : 'paid',
        createdAt: Date.now(),
      });
    }
    validFile = await readFile(join(directory, 'valid.json'), 'utf8');
  });

  afterAll(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('a damaged token file gives TokenStoreError, never a wrong token', async () => {
    let index = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyText, mutated(fc.constant(validFile))), async (text) => {
        const path = join(directory, `tokens-${index++}.json`);
        await writeFile(path, text);
        const store = new FileTokenStore(path);
        let tokens: Awaited<ReturnType<FileTokenStore['list']>> | undefined;
        try {
          tokens = await store.list();
        } catch (error) {
          if (!(error instanceof TokenStoreError)) throw error;
        }
        for (const token of tokens ?? []) {
          expect(token.paymentHash).toMatch(HEX64);
          if (token.state === 'paid') expect(token.preimage).toMatch(HEX64);
          expect(typeof token.amountMsat).toBe('bigint');
        }
        await rm(path, { force: true });
      }),
      { numRuns: cases('tokenFile') },
    );
  });

  it('a damaged spend log is read without rejecting, torn lines skipped', async () => {
    const line = JSON.stringify({
      time: new Date().toISOString(),
      url: 'http://127.0.0.1:1/a',
      amountMsat: '1000',
      feeMsat: '0',
      paymentHash: offers[0]!.paymentHash,
      outcome: 'paid',
    });
    let index = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(anyText, mutated(fc.constant(line)), fc.constant(line)), {
          maxLength: 6,
        }),
        async (lines) => {
          const path = join(directory, `spend-${index++}.jsonl`);
          await writeFile(path, lines.join('\n'));
          const entries = await createSpendLog(path).read();
          for (const entry of entries) {
            expect(typeof entry.amountMsat).toBe('bigint');
            expect(typeof entry.feeMsat).toBe('bigint');
            expect(typeof entry.outcome).toBe('string');
          }
          await rm(path, { force: true });
        },
      ),
      { numRuns: cases('spendLog') },
    );
  });
});
