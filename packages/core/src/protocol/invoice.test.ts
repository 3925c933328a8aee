import { createHash, randomBytes } from 'node:crypto';
import { encode, type PaymentRequestObject, sign } from 'bolt11';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedInvoiceError } from '../errors.js';
import { type DecodedInvoice, decodeInvoice, isInvoiceExpired } from './invoice.js';

// Real invoices signed with a random node key, as a Lightning node would make them.
const TESTNET_ADDRESSES = { pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };
const NETWORKS = {
  lnbc: { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, validWitnessVersions: [0, 1] },
  lntb: { bech32: 'tb', ...TESTNET_ADDRESSES },
  lntbs: { bech32: 'tbs', ...TESTNET_ADDRESSES },
  lnbcrt: { bech32: 'bcrt', ...TESTNET_ADDRESSES },
  lnsb: { bech32: 'sb', pubKeyHash: 0x3f, scriptHash: 0x7b, validWitnessVersions: [0, 1] },
};
type Prefix = keyof typeof NETWORKS;

interface MakeOptions {
  prefix?: Prefix;
  millisatoshis?: string;
  /** Replaces the human-readable part (prefix and amount) before signing. */
  humanReadablePart?: string;
  tags?: PaymentRequestObject['tags'];
  timestamp?: number;
  privateKey?: Buffer;
}

const nodeKey = randomBytes(32);
const paymentHash = createHash('sha256').update(randomBytes(32)).digest('hex');
const timestamp = 1_700_000_000;

function makeInvoice(options: MakeOptions = {}): string {
  const unsigned = encode({
    network: NETWORKS[options.prefix ?? 'lnbcrt'],
    timestamp: options.timestamp ?? timestamp,
    ...(options.millisatoshis === undefined ? {} : { millisatoshis: options.millisatoshis }),
    tags: options.tags ?? [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      { tagName: 'description', data: 'one search' },
    ],
  });
  if (options.humanReadablePart !== undefined) unsigned.prefix = options.humanReadablePart;
  const signed = sign(unsigned, options.privateKey ?? nodeKey).paymentRequest;
  if (signed === undefined) throw new Error('bolt11 did not sign');
  return signed;
}

function publicKeyOf(privateKey: Buffer): string {
  const invoice = decodeInvoice(makeInvoice({ privateKey }));
  return invoice.payee;
}

// Minimal bech32 so tests can alter signed data and still present a valid checksum.
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
function polymod(values: number[]): number {
  const generators = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let checksum = 1;
  for (const value of values) {
    const top = checksum >> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >> i) & 1) checksum ^= generators[i] as number;
  }
  return checksum;
}
function withChecksum(humanReadablePart: string, words: number[]): string {
  const expanded = [
    ...[...humanReadablePart].map((c) => c.charCodeAt(0) >> 5),
    0,
    ...[...humanReadablePart].map((c) => c.charCodeAt(0) & 31),
  ];
  const mod = polymod([...expanded, ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >> (5 * (5 - i))) & 31);
  return `${humanReadablePart}1${[...words, ...checksum].map((w) => CHARSET[w]).join('')}`;
}
function splitInvoice(invoice: string): { humanReadablePart: string; words: number[] } {
  const separator = invoice.lastIndexOf('1');
  const words = [...invoice.slice(separator + 1, -6)].map((c) => CHARSET.indexOf(c));
  return { humanReadablePart: invoice.slice(0, separator), words };
}
function bytesToWords(bytes: Uint8Array): number[] {
  const words: number[] = [];
  let value = 0;
  let bits = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      words.push((value >> bits) & 31);
    }
  }
  if (bits > 0) words.push((value << (5 - bits)) & 31);
  return words;
}
function wordsToBytes(words: number[]): Uint8Array {
  const bytes: number[] = [];
  let value = 0;
  let bits = 0;
  for (const word of words) {
    value = (value << 5) | word;
    bits += 5;
    while (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 255);
    }
  }
  return new Uint8Array(bytes);
}
/** Rewrites the 65-byte signature (r ‖ s ‖ recovery id) of a signed invoice. */
function replaceSignature(invoice: string, change: (signature: Uint8Array) => Uint8Array): string {
  const { humanReadablePart, words } = splitInvoice(invoice);
  const signature = wordsToBytes(words.slice(-104)).subarray(0, 65);
  return withChecksum(humanReadablePart, [
    ...words.slice(0, -104),
    ...bytesToWords(change(signature.slice())),
  ]);
}

describe('decodeInvoice', () => {
  it.each([
    ['lnbc', 'bitcoin'],
    ['lntb', 'testnet'],
    ['lntbs', 'signet'],
    ['lnbcrt', 'regtest'],
    ['lnsb', 'simnet'],
  ] as const)('reads %s invoices as %s', (prefix, network) => {
    const invoice = makeInvoice({ prefix, millisatoshis: '250000000' });
    expect(invoice.startsWith(`${prefix}2500u1`)).toBe(true);
    expect(decodeInvoice(invoice)).toEqual({
      invoice,
      network,
      amountMsat: 250_000_000n,
      paymentHash,
      createdAt: new Date(timestamp * 1000),
      expiresAt: new Date((timestamp + 3600) * 1000),
      expirySeconds: 3600,
      payee: expect.stringMatching(/^0[23][0-9a-f]{64}$/),
      description: 'one search',
    });
  });

  it.each([
    ['2m', '200000000', 200_000_000n],
    ['2500u', '250000000', 250_000_000n],
    ['10n', '1000', 1000n],
    ['10p', '1', 1n],
    ['12345670p', '1234567', 1_234_567n],
    ['3', '300000000000', 300_000_000_000n],
  ])('reads the amount %s exactly in msat', (humanAmount, millisatoshis, expected) => {
    for (const prefix of ['lnbc', 'lntbs', 'lnbcrt'] as const) {
      const invoice = makeInvoice({ prefix, millisatoshis });
      expect(invoice.startsWith(`${prefix}${humanAmount}1`)).toBe(true);
      expect(decodeInvoice(invoice).amountMsat).toBe(expected);
    }
  });

  it('reads an invoice without amount as undefined', () => {
    for (const prefix of Object.keys(NETWORKS) as Prefix[]) {
      expect(decodeInvoice(makeInvoice({ prefix })).amountMsat).toBeUndefined();
    }
  });

  it('recovers the payee key from the signature', () => {
    const other = randomBytes(32);
    expect(publicKeyOf(other)).not.toBe(publicKeyOf(nodeKey));
    expect(publicKeyOf(other)).toBe(publicKeyOf(other));
  });

  it('accepts an upper-case invoice (QR codes) and returns it in lower case', () => {
    const invoice = makeInvoice({ millisatoshis: '1000' });
    const decoded = decodeInvoice(` ${invoice.toUpperCase()}\n`);
    expect(decoded.invoice).toBe(invoice);
    expect(decoded.amountMsat).toBe(1000n);
    expect(() => decodeInvoice(invoice.slice(0, 10).toUpperCase() + invoice.slice(10))).toThrow(
      MalformedInvoiceError,
    );
  });

  it('reads expiry, description hash and the payee key tag', () => {
    const descriptionHash = createHash('sha256').update('long description').digest('hex');
    const payee = publicKeyOf(nodeKey);
    const decoded = decodeInvoice(
      makeInvoice({
        tags: [
          { tagName: 'payment_hash', data: paymentHash },
          { tagName: 'purpose_commit_hash', data: descriptionHash },
          { tagName: 'expire_time', data: 60 },
          { tagName: 'payee_node_key', data: payee },
        ],
      }),
    );
    expect(decoded.expirySeconds).toBe(60);
    expect(decoded.expiresAt).toEqual(new Date((timestamp + 60) * 1000));
    expect(decoded.descriptionHash).toBe(descriptionHash);
    expect(decoded.description).toBeUndefined();
    expect(decoded.payee).toBe(payee);
  });

  it('tells whether an invoice has expired', () => {
    const decoded = decodeInvoice(
      makeInvoice({
        tags: [
          { tagName: 'payment_hash', data: paymentHash },
          { tagName: 'expire_time', data: 60 },
        ],
      }),
    );
    expect(isInvoiceExpired(decoded, new Date((timestamp + 59) * 1000))).toBe(false);
    expect(isInvoiceExpired(decoded, new Date((timestamp + 60) * 1000))).toBe(true);
    expect(isInvoiceExpired(decoded)).toBe(true);
    const fresh = decodeInvoice(makeInvoice({ timestamp: Math.floor(Date.now() / 1000) }));
    expect(isInvoiceExpired(fresh)).toBe(false);
  });

  it.each([
    ['a pico amount that is not a whole msat', 'lnbc15p'],
    ['a zero amount', 'lnbc0u'],
    ['more than 21 million bitcoin', 'lnbc21000001'],
    ['an unknown network', 'lnxy10u'],
    ['an unknown multiplier', 'lnbc10k'],
    ['a multiplier without digits', 'lnbcu'],
  ])('refuses %s', (_name, humanReadablePart) => {
    const invoice = makeInvoice({ humanReadablePart });
    expect(invoice.startsWith(`${humanReadablePart}1`)).toBe(true);
    expect(() => decodeInvoice(invoice)).toThrow(MalformedInvoiceError);
  });

  it('refuses a tampered character (bad checksum)', () => {
    const invoice = makeInvoice({ millisatoshis: '1000' });
    const index = invoice.length - 20;
    const tampered =
      invoice.slice(0, index) + (invoice[index] === 'q' ? 'p' : 'q') + invoice.slice(index + 1);
    expect(() => decodeInvoice(tampered)).toThrow(MalformedInvoiceError);
    expect(() => decodeInvoice(invoice.replace('lnbcrt10n', 'lnbcrt20n'))).toThrow(
      MalformedInvoiceError,
    );
  });

  it('refuses a changed signature when the invoice names its payee', () => {
    const invoice = makeInvoice({
      tags: [
        { tagName: 'payment_hash', data: paymentHash },
        { tagName: 'payee_node_key', data: publicKeyOf(nodeKey) },
      ],
    });
    expect(decodeInvoice(invoice).payee).toBe(publicKeyOf(nodeKey));
    const flipped = replaceSignature(invoice, (signature) => {
      signature[10] = (signature[10] as number) ^ 1;
      return signature;
    });
    expect(() => decodeInvoice(flipped)).toThrow(MalformedInvoiceError);
  });

  it('binds the payee to the signature when the invoice does not name it', () => {
    const invoice = makeInvoice({ millisatoshis: '1000' });
    const flipped = replaceSignature(invoice, (signature) => {
      signature[10] = (signature[10] as number) ^ 1;
      return signature;
    });
    // A changed signature recovers another key (or none): never the original payee.
    let payee: string | undefined;
    try {
      payee = decodeInvoice(flipped).payee;
    } catch (error) {
      expect(error).toBeInstanceOf(MalformedInvoiceError);
    }
    expect(payee).not.toBe(decodeInvoice(invoice).payee);
  });

  it('refuses a high-S signature even though it recovers the same key', () => {
    const order = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const invoice = makeInvoice({ millisatoshis: '1000' });
    const highS = replaceSignature(invoice, (signature) => {
      const s = BigInt(`0x${Buffer.from(signature.subarray(32, 64)).toString('hex')}`);
      signature.set(Buffer.from((order - s).toString(16).padStart(64, '0'), 'hex'), 32);
      signature[64] = (signature[64] as number) ^ 1;
      return signature;
    });
    expect(() => decodeInvoice(highS)).toThrow(/lower-S/);
  });

  it('refuses an invoice with two different payment hashes', () => {
    const other = createHash('sha256').update('other').digest('hex');
    const invoice = makeInvoice({
      tags: [
        { tagName: 'payment_hash', data: paymentHash },
        { tagName: 'payment_hash', data: other },
      ],
    });
    expect(() => decodeInvoice(invoice)).toThrow(/more than one payment hash/);
  });

  it('skips a payment hash of the wrong length', () => {
    const invoice = makeInvoice({
      tags: [{ tagName: 'payment_hash', data: paymentHash.slice(0, 62) }],
    });
    expect(() => decodeInvoice(invoice)).toThrow(/no payment hash/);
  });

  it.each([
    ['empty', ''],
    ['only a prefix', 'lnbc'],
    ['not an invoice', 'hello world'],
    ['a bitcoin address', 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq'],
    ['a truncated invoice', makeInvoice().slice(0, 100)],
  ])('refuses %s', (_name, text) => {
    expect(() => decodeInvoice(text)).toThrow(MalformedInvoiceError);
  });
});

/** Runs decodeInvoice; it either throws MalformedInvoiceError or returns a well-formed result. */
function decodeOrRefuse(text: string): DecodedInvoice | undefined {
  let decoded: DecodedInvoice | undefined;
  try {
    decoded = decodeInvoice(text);
  } catch (error) {
    if (!(error instanceof MalformedInvoiceError)) throw error;
    return undefined;
  }
  expect(decoded.paymentHash).toMatch(/^[0-9a-f]{64}$/);
  expect(decoded.payee).toMatch(/^0[23][0-9a-f]{64}$/);
  expect(Number.isNaN(decoded.createdAt.getTime())).toBe(false);
  expect(Number.isNaN(decoded.expiresAt.getTime())).toBe(false);
  if (decoded.amountMsat !== undefined) expect(decoded.amountMsat > 0n).toBe(true);
  return decoded;
}

describe('decodeInvoice properties', () => {
  const prefix = fc.constantFrom(...(Object.keys(NETWORKS) as Prefix[]));

  it('reads back any amount exactly, whatever multiplier encodes it', () => {
    fc.assert(
      fc.property(
        prefix,
        fc.bigInt({ min: 1n, max: 2_100_000_000_000_000_000n }),
        (network, msat) => {
          const invoice = makeInvoice({ prefix: network, millisatoshis: msat.toString() });
          expect(decodeInvoice(invoice).amountMsat).toBe(msat);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads back creation time and expiry', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 34 }), fc.nat({ max: 2 ** 31 }), (created, expiry) => {
        const decoded = decodeInvoice(
          makeInvoice({
            timestamp: created,
            tags: [
              { tagName: 'payment_hash', data: paymentHash },
              { tagName: 'expire_time', data: expiry },
            ],
          }),
        );
        expect(decoded.createdAt.getTime()).toBe(created * 1000);
        expect(decoded.expirySeconds).toBe(expiry);
        expect(decoded.expiresAt.getTime()).toBe((created + expiry) * 1000);
      }),
      { numRuns: 300 },
    );
  });

  const valid = makeInvoice({ millisatoshis: '2500000' });

  it('refuses random and mutated text with MalformedInvoiceError only', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.string({ unit: fc.constantFrom(...`ln1bcrtsb${CHARSET}`.split('')), maxLength: 400 }),
      fc
        .tuple(fc.nat(), fc.constantFrom(...CHARSET.split('')), fc.nat({ max: 3 }))
        .map(([at, character, cut]) => {
          const index = at % valid.length;
          return (valid.slice(0, index) + character + valid.slice(index + 1)).slice(
            0,
            valid.length - cut,
          );
        }),
    );
    fc.assert(
      fc.property(text, (invoice) => {
        const decoded = decodeOrRefuse(invoice);
        if (decoded !== undefined) expect(decoded.invoice).toBe(invoice.trim().toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });

  it('survives changed data behind a valid checksum', () => {
    const { humanReadablePart, words } = splitInvoice(valid);
    const edits = fc.array(
      fc.tuple(fc.nat(), fc.nat({ max: 31 }), fc.constantFrom('replace', 'insert', 'delete')),
      {
        minLength: 1,
        maxLength: 6,
      },
    );
    fc.assert(
      fc.property(edits, (changes) => {
        const changed = [...words];
        for (const [at, word, kind] of changes) {
          const index = at % (changed.length + 1);
          if (kind === 'insert') changed.splice(index, 0, word);
          else if (kind === 'delete') changed.splice(index, 1);
          else changed.splice(index, 1, word);
        }
        const decoded = decodeOrRefuse(withChecksum(humanReadablePart, changed));
        // Only the signature recovers a key; changed signed data means another payee.
        if (decoded !== undefined && changed.join() !== words.join()) {
          expect(decoded.payee).not.toBe(decodeInvoice(valid).payee);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
