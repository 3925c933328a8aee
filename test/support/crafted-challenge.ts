import { createHash, randomBytes } from 'node:crypto';
import { mintMacaroon } from '@l402kit/core';
import bolt11 from 'bolt11';
import { type LoopbackServer, type ServeOptions, serveFetch } from './serve-fetch.js';

// Invoices for servers that misbehave: real BOLT11, signed with a random node key (or a
// sandbox node's invoices when they must be payable), so only the client's checks can stop them.
const TESTNET_ADDRESSES = { pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };
const NETWORKS = {
  bitcoin: { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, validWitnessVersions: [0, 1] },
  testnet: { bech32: 'tb', ...TESTNET_ADDRESSES },
  signet: { bech32: 'tbs', ...TESTNET_ADDRESSES },
  regtest: { bech32: 'bcrt', ...TESTNET_ADDRESSES },
};

export interface SignInvoiceOptions {
  network?: keyof typeof NETWORKS;
  /** Leave out for an amountless invoice. */
  amountMsat?: bigint;
  paymentHash?: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  expirySeconds?: number;
  description?: string;
}

export interface SignedInvoice {
  invoice: string;
  paymentHash: string;
  preimage: string;
}

export function signInvoice(options: SignInvoiceOptions = {}): SignedInvoice {
  const preimage = randomBytes(32).toString('hex');
  const paymentHash =
    options.paymentHash ?? createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
  const unsigned = bolt11.encode({
    network: NETWORKS[options.network ?? 'regtest'],
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    ...(options.amountMsat === undefined ? {} : { millisatoshis: options.amountMsat.toString() }),
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      { tagName: 'description', data: options.description ?? 'crafted' },
      { tagName: 'expire_time', data: options.expirySeconds ?? 3600 },
    ],
  });
  const invoice = bolt11.sign(unsigned, randomBytes(32)).paymentRequest;
  if (invoice === undefined) throw new Error('bolt11 did not sign');
  return { invoice, paymentHash, preimage };
}

/** A macaroon with an aperture identifier for `paymentHash`, signed with a throwaway key. */
export function macaroonFor(paymentHash: string, rootKey: Uint8Array = randomBytes(32)): string {
  return mintMacaroon({
    rootKey,
    identifier: { version: 0, paymentHash, tokenId: randomBytes(32).toString('hex') },
    location: 'crafted',
    caveats: ['services=crafted:0'],
  });
}

/** `L402 macaroon="...", invoice="..."` for a macaroon bound to `macaroonHash` (default: the invoice's). */
export function challengeHeader(invoice: SignedInvoice | string, macaroonHash?: string): string {
  const text = typeof invoice === 'string' ? invoice : invoice.invoice;
  const hash = macaroonHash ?? (typeof invoice === 'string' ? undefined : invoice.paymentHash);
  if (hash === undefined) throw new Error('macaroonHash is needed for a bare invoice');
  return `L402 macaroon="${macaroonFor(hash)}", invoice="${text}"`;
}

export function paymentRequired(header: string): Response {
  return new Response('payment required', {
    status: 402,
    headers: { 'www-authenticate': header },
  });
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | null;
  headers: Headers;
  body: string;
}

export interface RecordingServer extends LoopbackServer {
  /** Every request that reached the server, in order. */
  requests: RecordedRequest[];
}

/** A loopback server that records each request before `handler` answers it. */
export async function serveRecording(
  handler: (request: Request, recorded: RecordedRequest) => Response | Promise<Response>,
  options?: ServeOptions,
): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server = await serveFetch(async (request) => {
    const recorded: RecordedRequest = {
      method: request.method,
      path: new URL(request.url).pathname,
      authorization: request.headers.get('authorization'),
      headers: request.headers,
      body: request.body ? await request.text() : '',
    };
    requests.push(recorded);
    return handler(request, recorded);
  }, options);
  return { ...server, requests };
}
