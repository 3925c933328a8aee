import { type PaymentLoop, validatePaymentLoop } from './payment-loops.js';
import { type StoredToken, TokenIndex, validateToken } from './token-store.js';

// The JSON file a FileTokenStore keeps: {"format":"l402kit-tokens","version":1,"tokens":[…],
// "loops":[…]}, one token or loop a line, amounts as decimal strings.
const FORMAT = 'l402kit-tokens';
const VERSION = 1;

/** Why a token file cannot be read; the store turns it into a TokenStoreError. */
export class CorruptTokenFileError extends Error {
  override readonly name = 'CorruptTokenFileError';
}

/**
 * The tokens and payment loops of a token file, checked: a file that is not one, or holds one
 * invalid token or loop, throws CorruptTokenFileError (never a partial index).
 */
export function parseTokenFile(text: string): TokenIndex {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new CorruptTokenFileError('it is not valid JSON', { cause: error });
  }
  // Checked by hand rather than with a schema library: start-up with 100,000 tokens must stay fast.
  const file = data as { format?: unknown; version?: unknown; tokens?: unknown; loops?: unknown };
  if (typeof file !== 'object' || file === null || file.format !== FORMAT) {
    throw new CorruptTokenFileError('it is not an l402kit token file');
  }
  if (file.version !== VERSION) {
    throw new CorruptTokenFileError(
      `it has format version ${String(file.version)}, this l402kit reads version ${VERSION}`,
    );
  }
  if (!Array.isArray(file.tokens)) throw new CorruptTokenFileError('it has no token list');
  // Optional: files written before payment loops were recorded have none.
  const rawLoops = file.loops ?? [];
  if (!Array.isArray(rawLoops)) {
    throw new CorruptTokenFileError('its payment loop list is not a list');
  }
  const knownOrigins = new Set<string>();
  const tokens = decodeEach(file.tokens, 'token', (raw) => {
    const token = decodeToken(raw);
    validateToken(token, knownOrigins);
    return token;
  });
  const loops = decodeEach(rawLoops, 'payment loop', (raw) => {
    const loop = decodeLoop(raw);
    validatePaymentLoop(loop);
    return loop;
  });
  return new TokenIndex(tokens, loops);
}

/** The text of a token file holding `index`. */
export function formatTokenFile(index: TokenIndex): string {
  const lines = index.values().map((token) => JSON.stringify(encodeToken(token)));
  const loops = index.loops.values().map((loop) => JSON.stringify(encodeLoop(loop)));
  const loopList = loops.length === 0 ? '' : `,"loops":[\n${loops.join(',\n')}\n]`;
  return `{"format":"${FORMAT}","version":${VERSION},"tokens":[\n${lines.join(',\n')}\n]${loopList}}\n`;
}

function decodeEach<T>(list: unknown[], what: string, decode: (raw: unknown) => T): T[] {
  return list.map((raw, position) => {
    try {
      return decode(raw);
    } catch (error) {
      throw new CorruptTokenFileError(`${what} ${position}: ${(error as Error).message}`);
    }
  });
}

const stringFields = [
  'key',
  'origin',
  'scope',
  'scheme',
  'macaroon',
  'paymentHash',
  'invoice',
  'state',
] as const;

function decodeToken(raw: unknown): StoredToken {
  if (typeof raw !== 'object' || raw === null) throw new RangeError('not an object');
  const value = raw as Record<string, unknown>;
  for (const field of stringFields) {
    if (typeof value[field] !== 'string') throw new RangeError(`${field} must be a string`);
  }
  for (const field of ['amountMsat', 'feeMsat']) {
    if (typeof value[field] !== 'string' || !/^\d+$/.test(value[field])) {
      throw new RangeError(`${field} must be a decimal string`);
    }
  }
  const token = {
    key: value.key,
    origin: value.origin,
    scope: value.scope,
    scheme: value.scheme,
    macaroon: value.macaroon,
    paymentHash: value.paymentHash,
    invoice: value.invoice,
    amountMsat: BigInt(value.amountMsat as string),
    feeMsat: BigInt(value.feeMsat as string),
    state: value.state,
    createdAt: value.createdAt,
  } as StoredToken;
  // Optional fields are left out rather than set to undefined, as they were stored.
  if (value.method !== undefined) token.method = value.method as string;
  if (value.preimage !== undefined) token.preimage = value.preimage as string;
  if (value.expiresAt !== undefined) token.expiresAt = value.expiresAt as number;
  return token;
}

function encodeToken(token: StoredToken): Record<string, unknown> {
  return {
    key: token.key,
    origin: token.origin,
    scope: token.scope,
    method: token.method,
    scheme: token.scheme,
    macaroon: token.macaroon,
    preimage: token.preimage,
    paymentHash: token.paymentHash,
    invoice: token.invoice,
    amountMsat: token.amountMsat.toString(),
    feeMsat: token.feeMsat.toString(),
    state: token.state,
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
  };
}

function decodeLoop(raw: unknown): PaymentLoop {
  if (typeof raw !== 'object' || raw === null) throw new RangeError('not an object');
  const value = raw as Record<string, unknown>;
  if (typeof value.amountMsat !== 'string' || !/^\d+$/.test(value.amountMsat)) {
    throw new RangeError('amountMsat must be a decimal string');
  }
  const loop = {
    key: value.key,
    origin: value.origin,
    count: value.count,
    amountMsat: BigInt(value.amountMsat),
    paymentHash: value.paymentHash,
    firstAt: value.firstAt,
    lastAt: value.lastAt,
  } as PaymentLoop;
  if (value.scope !== undefined) loop.scope = value.scope as string;
  if (value.method !== undefined) loop.method = value.method as string;
  return loop;
}

function encodeLoop(loop: PaymentLoop): Record<string, unknown> {
  return { ...loop, amountMsat: loop.amountMsat.toString() };
}
