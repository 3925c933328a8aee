// Fuzzing of the 402 challenge a loopback server sends to the paid fetch. Mutated challenges
// around a real, payable sandbox invoice, and deliberately bad ones (hash mismatch, amountless,
// expired, wrong network, above the cap): the sandbox ledger shows a payment only for the
// offered invoice when the challenge still offers it intact, never anything else.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createBudget,
  createPaidFetch,
  decodeInvoice,
  decodeMacaroon,
  L402Error,
  MemoryTokenStore,
  mintMacaroon,
  parseChallenges,
  type Wallet,
  selectChallenge,
} from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import bolt11 from 'bolt11';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases, mutated } from './support/fuzz.js';

const network = createSandboxNetwork();
const merchant = network.createNode({ name: 'merchant' });
const payer = network.createNode({ name: 'payer', balanceSats: 10_000_000 });
let payCalls = 0;
const wallet: Wallet = {
  ...payer.wallet,
  name: payer.wallet.name,
  network: payer.wallet.network,
  payInvoice(request) {
    payCalls += 1;
    return payer.wallet.payInvoice(request);
  },
};
const rootKey = randomBytes(32);

/** The WWW-Authenticate value the server sends for the current case. */
let challenge = '';
let serverUrl = '';
const server = createServer((request, response) => {
  if (request.headers.authorization) {
    response.writeHead(200).end('paid content');
    return;
  }
  response.writeHead(402, { 'www-authenticate': challenge }).end('payment required');
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const paidFetch = createPaidFetch({
  wallet,
  budget: createBudget({ name: 'fuzz', maxSatsPerRequest: 100 }),
  policy: { allowPrivateNetwork: true, requireHttps: false },
  tokenStore: new MemoryTokenStore(),
  paymentTimeoutMs: 5_000,
});

function macaroonFor(paymentHash: string): string {
  return mintMacaroon({
    rootKey,
    identifier: { version: 0, paymentHash, tokenId: randomBytes(32).toString('hex') },
    location: 'fuzz',
    caveats: ['services=fuzz:0'],
  });
}

/** Bytes Node can send in a header value (no control characters, nothing above latin-1). */
const SENDABLE = /^[\t\x20-\x7e\x80-\xff]*$/;
let caseNumber = 0;

/** Serves `header` on a new path, fetches it, and returns what moved and what the caller saw. */
async function fetchWithChallenge(header: string) {
  challenge = header;
  const paymentsBefore = network.payments.length;
  const callsBefore = payCalls;
  let error: unknown;
  try {
    const response = await paidFetch(`${serverUrl}/case/${caseNumber++}`);
    await response.arrayBuffer();
  } catch (caught) {
    error = caught;
  }
  return {
    error,
    calls: payCalls - callsBefore,
    payments: network.payments.slice(paymentsBefore),
  };
}

describe('the paid fetch against fuzzed 402 challenges', () => {
  let paidCases = 0;
  let refusedCases = 0;

  it('pays only the offered invoice, and only while the challenge still offers it intact', async () => {
    const offer = fc.constant(null).map(() => {
      const { invoice, paymentHash } = merchant.createInvoice({ amountSats: 7 });
      return { invoice, paymentHash, macaroon: macaroonFor(paymentHash) };
    });
    const generated = offer.chain((o) =>
      fc.tuple(
        fc.constant(o),
        mutated(
          fc.constantFrom(
            `L402 macaroon="${o.macaroon}", invoice="${o.invoice}"`,
            `L402 version="0", token="${o.macaroon}", invoice="${o.invoice}"`,
            `LSAT macaroon="${o.macaroon}", invoice="${o.invoice}", L402 macaroon="${o.macaroon}", invoice="${o.invoice}"`,
            `Basic realm="api", L402 macaroon=${o.macaroon}, invoice=${o.invoice}`,
          ),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(generated, async ([original, header]) => {
        fc.pre(SENDABLE.test(header));
        const seen = new Headers({ 'www-authenticate': header }).get('www-authenticate') ?? '';
        const { error, calls, payments } = await fetchWithChallenge(header);
        if (error !== undefined && !(error instanceof L402Error)) throw error;

        // Payable only when the chosen challenge still carries the offered invoice and a
        // macaroon for its payment hash (the client cannot check the macaroon's signature).
        const chosen = selectChallenge(parseChallenges(seen));
        let payable = false;
        try {
          payable =
            chosen !== undefined &&
            decodeInvoice(chosen.invoice).paymentHash === original.paymentHash &&
            decodeMacaroon(chosen.macaroon).identifier.paymentHash === original.paymentHash;
        } catch {}
        expect(calls).toBeLessThanOrEqual(payable ? 1 : 0);
        expect(payments.length).toBe(calls);
        for (const payment of payments) {
          expect(payment.paymentHash).toBe(original.paymentHash);
          expect(payment.amountMsat).toBe(7_000n);
        }
        if (calls > 0) paidCases += 1;
        else refusedCases += 1;
        if (payable && calls === 0 && error instanceof L402Error) {
          expect(error.paid).toBe(false);
        }
      }),
      { numRuns: cases('paidFetchChallenge') },
    );
    // Both branches ran: mutations that keep the offer pay, the others do not.
    expect(paidCases).toBeGreaterThan(0);
    expect(refusedCases).toBeGreaterThan(0);
  });

  it('never pays a bad challenge: hash mismatch, amountless, expired, other network, above the cap', async () => {
    const networks = {
      bitcoin: { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, validWitnessVersions: [0, 1] },
      regtest: { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
    };
    const signed = (options: {
      network: keyof typeof networks;
      millisatoshis?: string;
      ageSeconds?: number;
      expirySeconds?: number;
    }) => {
      const preimage = randomBytes(32);
      const paymentHash = createHash('sha256').update(preimage).digest('hex');
      const encoded = bolt11.encode({
        network: networks[options.network],
        timestamp: Math.floor(Date.now() / 1000) - (options.ageSeconds ?? 0),
        ...(options.millisatoshis === undefined ? {} : { millisatoshis: options.millisatoshis }),
        tags: [
          { tagName: 'payment_hash', data: paymentHash },
          { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
          { tagName: 'description', data: 'bad' },
          { tagName: 'expire_time', data: options.expirySeconds ?? 3600 },
        ],
      });
      const invoice = bolt11.sign(encoded, randomBytes(32)).paymentRequest!;
      return { invoice, paymentHash };
    };
    const bad = fc.constantFrom(
      'hash-mismatch',
      'amountless',
      'expired',
      'mainnet',
      'above-cap',
      'macaroon-garbage',
    );
    await fc.assert(
      fc.asyncProperty(bad, fc.boolean(), async (kind, asToken) => {
        let invoice: string;
        let macaroon: string;
        if (kind === 'hash-mismatch') {
          invoice = merchant.createInvoice({ amountSats: 3 }).invoice;
          macaroon = macaroonFor(randomBytes(32).toString('hex'));
        } else if (kind === 'amountless') {
          const created = merchant.createInvoice({});
          invoice = created.invoice;
          macaroon = macaroonFor(created.paymentHash);
        } else if (kind === 'above-cap') {
          const created = merchant.createInvoice({ amountSats: 5_000 });
          invoice = created.invoice;
          macaroon = macaroonFor(created.paymentHash);
        } else if (kind === 'macaroon-garbage') {
          invoice = merchant.createInvoice({ amountSats: 3 }).invoice;
          macaroon = randomBytes(80).toString('base64');
        } else {
          const created = signed(
            kind === 'expired'
              ? { network: 'regtest', millisatoshis: '3000', ageSeconds: 7_200, expirySeconds: 60 }
              : { network: 'bitcoin', millisatoshis: '3000' },
          );
          invoice = created.invoice;
          macaroon = macaroonFor(created.paymentHash);
        }
        const header = asToken
          ? `L402 version="0", token="${macaroon}", invoice="${invoice}"`
          : `LSAT macaroon="${macaroon}", invoice="${invoice}"`;
        const { error, calls, payments } = await fetchWithChallenge(header);
        expect(error).toBeInstanceOf(L402Error);
        expect((error as L402Error).paid).toBe(false);
        expect(calls).toBe(0);
        expect(payments).toEqual([]);
      }),
      { numRuns: cases('paidFetchCraftedBad') },
    );
  });
});
