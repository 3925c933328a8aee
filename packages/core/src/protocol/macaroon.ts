import { isUtf8 } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MalformedMacaroonError } from '../errors.js';
import { decodeCheckedBase64 } from './base64.js';
import { bytesToHex, hexToBytes } from './preimage.js';

/** The 66-byte identifier aperture puts in every L402 macaroon (DESIGN.md §3). */
export interface MacaroonIdentifier {
  version: number;
  /** 32 bytes, lower-case hex. */
  paymentHash: string;
  /** 32 bytes, lower-case hex. */
  tokenId: string;
}

export interface DecodedMacaroon {
  /** Empty when the macaroon names no location. A hint only: the signature does not cover it. */
  location: string;
  identifier: MacaroonIdentifier;
  /** First-party caveats in order, e.g. `services=search:0`. */
  caveats: string[];
  /** 32 bytes, lower-case hex. */
  signature: string;
  /** Canonical encoding: V2 binary, standard base64, padded. */
  base64: string;
}

const IDENTIFIER_LENGTH = 66;
const PAYMENT_HASH_START = 2;
const TOKEN_ID_START = 34;
const IDENTIFIER_VERSION = 0;
const SIGNATURE_LENGTH = 32;
const HASH_HEX = /^[0-9a-fA-F]{64}$/;

/** `version u16 BE ‖ payment_hash[32] ‖ token_id[32]`, as aperture's lsat.EncodeIdentifier. */
export function encodeIdentifier(identifier: MacaroonIdentifier): Uint8Array {
  if (identifier.version !== IDENTIFIER_VERSION) {
    throw new MalformedMacaroonError(
      `unknown macaroon identifier version ${String(identifier.version)}`,
    );
  }
  if (typeof identifier.paymentHash !== 'string' || !HASH_HEX.test(identifier.paymentHash)) {
    throw new MalformedMacaroonError('macaroon identifier payment hash must be 32 bytes of hex');
  }
  if (typeof identifier.tokenId !== 'string' || !HASH_HEX.test(identifier.tokenId)) {
    throw new MalformedMacaroonError('macaroon identifier token id must be 32 bytes of hex');
  }
  const bytes = new Uint8Array(IDENTIFIER_LENGTH);
  new DataView(bytes.buffer).setUint16(0, identifier.version, false);
  bytes.set(hexToBytes(identifier.paymentHash), 2);
  bytes.set(hexToBytes(identifier.tokenId), 34);
  return bytes;
}

export function decodeIdentifier(bytes: Uint8Array): MacaroonIdentifier {
  if (!(bytes instanceof Uint8Array) || bytes.length !== IDENTIFIER_LENGTH) {
    throw new MalformedMacaroonError(
      `macaroon identifier must be ${IDENTIFIER_LENGTH} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`,
    );
  }
  const version = (bytes[0]! << 8) | bytes[1]!;
  if (version !== IDENTIFIER_VERSION) {
    throw new MalformedMacaroonError(`unknown macaroon identifier version ${version}`);
  }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    version,
    paymentHash: view.toString('hex', PAYMENT_HASH_START, TOKEN_ID_START),
    tokenId: view.toString('hex', TOKEN_ID_START, IDENTIFIER_LENGTH),
  };
}

// Field types of the V2 binary format (libmacaroons, go-macaroon).
const FIELD_END = 0;
const FIELD_LOCATION = 1;
const FIELD_IDENTIFIER = 2;
const FIELD_VERIFICATION_ID = 4;
const FIELD_SIGNATURE = 6;
const FORMAT_VERSION = 2;
const MAX_VARINT_BYTES = 5;

/** The fields of a V2 binary macaroon, read in one pass. */
interface MacaroonFields {
  location: string;
  identifier: Uint8Array;
  /** First-party caveat conditions as signed, and as text. */
  caveatBytes: Uint8Array[];
  caveats: string[];
  signature: Uint8Array;
  /** The bytes are exactly what `writeMacaroon` writes for these fields. */
  canonical: boolean;
}

/** A position in the bytes of a V2 macaroon; throws MalformedMacaroonError past the end. */
class FieldReader {
  offset = 0;
  /** False once a spelling `writeMacaroon` would not write was read. */
  canonical = true;

  constructor(private readonly bytes: Uint8Array) {}

  fail(problem: string): never {
    throw new MalformedMacaroonError(`macaroon is not a readable V2 binary macaroon: ${problem}`);
  }

  peek(): number {
    const byte = this.bytes[this.offset];
    return byte === undefined ? this.fail('it ends too early') : byte;
  }

  end(): void {
    if (this.peek() !== FIELD_END) this.fail(`field type ${this.peek()} where a section ends`);
    this.offset++;
  }

  /** A field of this type: type byte, varint length, data. */
  field(type: number): Uint8Array {
    if (this.peek() !== type) this.fail(`field type ${this.peek()} where ${type} belongs`);
    this.offset++;
    let length = 0;
    for (let index = 0; ; index++) {
      if (index === MAX_VARINT_BYTES) this.fail('a field length is too long');
      const byte = this.peek();
      this.offset++;
      length += (byte & 0x7f) * 2 ** (7 * index);
      if (byte < 0x80) {
        // 0x80 0x00 spells 0 too; only the shortest spelling is canonical.
        if (byte === 0 && index > 0) this.canonical = false;
        break;
      }
    }
    if (length > this.bytes.length - this.offset) this.fail('a field runs past the end');
    this.offset += length;
    return this.bytes.subarray(this.offset - length, this.offset);
  }

  optionalLocation(): Uint8Array | undefined {
    return this.peek() === FIELD_LOCATION ? this.field(FIELD_LOCATION) : undefined;
  }
}

function utf8Text(data: Uint8Array, what: string): string {
  // Exactly the bytes that were signed: no replacement characters, no byte-order mark dropped.
  // Bytes that are not UTF-8 always decode with a U+FFFD in them, so only such text is checked.
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  if (text.includes('\uFFFD') && !isUtf8(data)) {
    throw new MalformedMacaroonError(`macaroon ${what} is not UTF-8`);
  }
  return text;
}

/**
 * Reads the V2 binary format: version 2, [location] identifier END, per caveat [location]
 * identifier END (a verification id makes it a third-party caveat, which L402 does not use),
 * END, signature, nothing after. Caveat locations are hints that the signature does not cover,
 * so they are dropped, as the canonical form drops them.
 */
function readFields(bytes: Uint8Array): MacaroonFields {
  const reader = new FieldReader(bytes);
  if (reader.peek() !== FORMAT_VERSION) reader.fail(`format version ${bytes[0]}, only 2 is read`);
  reader.offset++;
  const locationBytes = reader.optionalLocation();
  // An explicit empty location is written by nobody's canonical encoder.
  if (locationBytes !== undefined && locationBytes.length === 0) reader.canonical = false;
  const identifier = reader.field(FIELD_IDENTIFIER);
  reader.end();
  const caveatBytes: Uint8Array[] = [];
  const caveats: string[] = [];
  while (reader.peek() !== FIELD_END) {
    if (reader.optionalLocation() !== undefined) reader.canonical = false;
    const condition = reader.field(FIELD_IDENTIFIER);
    if (reader.peek() === FIELD_VERIFICATION_ID) {
      reader.fail('third-party caveats are not used by L402');
    }
    reader.end();
    caveatBytes.push(condition);
    caveats.push(utf8Text(condition, 'caveat'));
  }
  reader.end();
  const signature = reader.field(FIELD_SIGNATURE);
  if (signature.length !== SIGNATURE_LENGTH)
    reader.fail(`a signature of ${signature.length} bytes`);
  if (reader.offset !== bytes.length) reader.fail('bytes after the signature');
  return {
    location: locationBytes === undefined ? '' : utf8Text(locationBytes, 'location'),
    identifier,
    caveatBytes,
    caveats,
    signature,
    canonical: reader.canonical,
  };
}

function varintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

/** The canonical V2 binary form, as libmacaroons and go-macaroon write it. */
function writeMacaroon(
  location: string,
  identifier: Uint8Array,
  caveats: readonly Uint8Array[],
  signature: Uint8Array,
): Buffer {
  const locationBytes = location === '' ? undefined : Buffer.from(location, 'utf8');
  const fieldSize = (data: Uint8Array) => 1 + varintLength(data.length) + data.length;
  let size = 1 + (locationBytes === undefined ? 0 : fieldSize(locationBytes));
  size += fieldSize(identifier) + 1;
  for (const caveat of caveats) size += fieldSize(caveat) + 1;
  size += 1 + fieldSize(signature);

  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  const field = (type: number, data: Uint8Array): void => {
    out[offset++] = type;
    let length = data.length;
    while (length >= 0x80) {
      out[offset++] = (length & 0x7f) | 0x80;
      length = Math.floor(length / 0x80);
    }
    out[offset++] = length;
    out.set(data, offset);
    offset += data.length;
  };
  out[offset++] = FORMAT_VERSION;
  if (locationBytes !== undefined) field(FIELD_LOCATION, locationBytes);
  field(FIELD_IDENTIFIER, identifier);
  out[offset++] = FIELD_END;
  for (const caveat of caveats) {
    field(FIELD_IDENTIFIER, caveat);
    out[offset++] = FIELD_END;
  }
  out[offset++] = FIELD_END;
  field(FIELD_SIGNATURE, signature);
  return out;
}

/** HMAC-SHA256(key, data), the one primitive of the signature chain. */
function hmac(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

// The libmacaroons key-derivation constant, named (a string literal right after a call to
// Buffer's from method reads as a package import to test/package-metadata.test.ts).
const KEY_GENERATOR_TEXT = 'macaroons-key-generator';
const KEY_GENERATOR = Buffer.from(KEY_GENERATOR_TEXT, 'utf8');

// Per root key object, its bytes when the key was derived and the derived key: a server that
// checks every credential with one key derives it once, and a key changed in place is derived anew.
const derivedKeys = new WeakMap<Uint8Array, { rootKey: Buffer; key: Buffer }>();

function derivedKey(rootKey: Uint8Array): Buffer {
  const cached = derivedKeys.get(rootKey);
  if (cached?.rootKey.equals(rootKey)) return cached.key;
  const key = hmac(KEY_GENERATOR, rootKey);
  derivedKeys.set(rootKey, { rootKey: Buffer.from(rootKey), key });
  return key;
}

/**
 * The chain of libmacaroons: the key is HMAC("macaroons-key-generator", root key), the first
 * signature HMAC(key, identifier), each caveat's HMAC(previous signature, condition).
 */
function signatureChain(
  rootKey: Uint8Array,
  identifier: Uint8Array,
  caveats: readonly Uint8Array[],
): Buffer {
  let signature = hmac(derivedKey(rootKey), identifier);
  for (const caveat of caveats) signature = hmac(signature, caveat);
  return signature;
}

function checkRootKey(rootKey: Uint8Array): void {
  if (!(rootKey instanceof Uint8Array)) {
    throw new MalformedMacaroonError('the macaroon root key must be a Uint8Array');
  }
}

function caveatsToBytes(caveats: readonly string[]): Buffer[] {
  return caveats.map((caveat) => {
    if (typeof caveat !== 'string') throw new MalformedMacaroonError('a caveat must be a string');
    return Buffer.from(caveat, 'utf8');
  });
}

/** One base64 decode and one pass over the fields; the L402 identifier is checked. */
function readMacaroon(macaroonBase64: string): {
  fields: MacaroonFields;
  decoded: DecodedMacaroon;
} {
  if (typeof macaroonBase64 !== 'string' || macaroonBase64.length === 0) {
    throw new MalformedMacaroonError('macaroon is empty');
  }
  let bytes: Uint8Array;
  let canonicalText: boolean;
  try {
    ({ bytes, canonical: canonicalText } = decodeCheckedBase64(macaroonBase64));
  } catch (error) {
    throw new MalformedMacaroonError('macaroon is not valid base64', { cause: error });
  }
  const fields = readFields(bytes);
  const identifier = decodeIdentifier(fields.identifier);
  const base64 =
    canonicalText && fields.canonical
      ? macaroonBase64
      : writeMacaroon(
          fields.location,
          fields.identifier,
          fields.caveatBytes,
          fields.signature,
        ).toString('base64');
  return {
    fields,
    decoded: {
      location: fields.location,
      identifier,
      caveats: fields.caveats,
      signature: bytesToHex(fields.signature),
      base64,
    },
  };
}

/** Location, identifier, caveats and signature; MalformedMacaroonError for anything unreadable. */
export function decodeMacaroon(base64: string): DecodedMacaroon {
  return readMacaroon(base64).decoded;
}

/** A new macaroon signed with `rootKey`, as standard padded base64 of the V2 binary format. */
export function mintMacaroon(options: {
  rootKey: Uint8Array;
  identifier: MacaroonIdentifier;
  location: string;
  caveats?: string[];
}): string {
  checkRootKey(options.rootKey);
  if (typeof options.location !== 'string') {
    throw new MalformedMacaroonError('the macaroon location must be a string');
  }
  const identifier = encodeIdentifier(options.identifier);
  const caveats = caveatsToBytes(options.caveats ?? []);
  const signature = signatureChain(options.rootKey, identifier, caveats);
  return writeMacaroon(options.location, identifier, caveats, signature).toString('base64');
}

/** Attenuates a macaroon: anyone holding it can add caveats, nobody can remove them. */
export function addCaveats(macaroonBase64: string, caveats: string[]): string {
  const { fields } = readMacaroon(macaroonBase64);
  const added = caveatsToBytes(caveats);
  let signature: Uint8Array = fields.signature;
  for (const caveat of added) signature = hmac(signature, caveat);
  return writeMacaroon(
    fields.location,
    fields.identifier,
    [...fields.caveatBytes, ...added],
    signature,
  ).toString('base64');
}

/**
 * Decodes the macaroon once and checks its HMAC chain under `rootKey`: the decoded macaroon,
 * and whether the root key signed exactly these identifier and caveats. Every first-party
 * caveat is accepted here; checking what the caveats mean is the caller's job. Throws
 * MalformedMacaroonError when the macaroon cannot be read.
 */
export function verifyMacaroon(
  macaroonBase64: string,
  rootKey: Uint8Array,
): { macaroon: DecodedMacaroon; signatureValid: boolean } {
  checkRootKey(rootKey);
  const { fields, decoded } = readMacaroon(macaroonBase64);
  return { macaroon: decoded, signatureValid: isSignedBy(fields, rootKey) };
}

/**
 * The V2 macaroon in `bytes` read once: its first-party caveats, its L402 identifier and
 * payment hash bytes, and whether `rootKey` signed exactly them. What `verifyMacaroon` does
 * after its base64 decode, for a reader that decoded the bytes itself (`checkCredential`).
 */
export function verifyMacaroonBytes(
  bytes: Uint8Array,
  rootKey: Uint8Array,
): {
  caveats: string[];
  identifier: MacaroonIdentifier;
  paymentHash: Uint8Array;
  signatureValid: boolean;
} {
  checkRootKey(rootKey);
  const fields = readFields(bytes);
  const identifier = decodeIdentifier(fields.identifier);
  return {
    caveats: fields.caveats,
    identifier,
    paymentHash: fields.identifier.subarray(PAYMENT_HASH_START, TOKEN_ID_START),
    signatureValid: isSignedBy(fields, rootKey),
  };
}

/** Whether `rootKey` signed exactly these identifier and caveats, compared in constant time. */
function isSignedBy(fields: MacaroonFields, rootKey: Uint8Array): boolean {
  const expected = signatureChain(rootKey, fields.identifier, fields.caveatBytes);
  return timingSafeEqual(expected, fields.signature);
}

/**
 * Whether the macaroon's HMAC chain is valid under `rootKey`. False, never a throw, on a
 * malformed macaroon or a wrong key.
 */
export function verifyMacaroonSignature(macaroonBase64: string, rootKey: Uint8Array): boolean {
  try {
    return verifyMacaroon(macaroonBase64, rootKey).signatureValid;
  } catch {
    return false;
  }
}
