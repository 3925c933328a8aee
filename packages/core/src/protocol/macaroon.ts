import { importMacaroon, type Macaroon, newMacaroon } from 'macaroon';
import { decodeBase64, encodeBase64 } from './base64.js';
import { MalformedMacaroonError } from '../errors.js';
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
const IDENTIFIER_VERSION = 0;
const HASH_HEX = /^[0-9a-fA-F]{64}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

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
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(
    0,
    false,
  );
  if (version !== IDENTIFIER_VERSION) {
    throw new MalformedMacaroonError(`unknown macaroon identifier version ${version}`);
  }
  return {
    version,
    paymentHash: bytesToHex(bytes.subarray(2, 34)),
    tokenId: bytesToHex(bytes.subarray(34, 66)),
  };
}

const FIELD_END = 0;
const FIELD_LOCATION = 1;
const FIELD_IDENTIFIER = 2;
const FIELD_VERIFICATION_ID = 4;
const FIELD_SIGNATURE = 6;
const utf8Encoder = new TextEncoder();

/**
 * The V2 binary format as libmacaroons and go-macaroon write it. Not the package's own
 * exportBinary: its buffer doubles on every write (its growth check reads an unset field),
 * so a macaroon with a few caveats asks for gigabytes and throws a RangeError.
 */
function exportBinary(macaroon: Macaroon): Uint8Array {
  const chunks: Uint8Array[] = [Uint8Array.of(2)];
  const field = (type: number, data: Uint8Array): void => {
    const header = [type];
    for (let length = data.length; ; length = Math.floor(length / 128)) {
      if (length < 128) {
        header.push(length);
        break;
      }
      header.push((length % 128) | 128);
    }
    chunks.push(Uint8Array.from(header), data);
  };
  const end = (): void => {
    chunks.push(Uint8Array.of(FIELD_END));
  };
  if (macaroon.location) field(FIELD_LOCATION, utf8Encoder.encode(macaroon.location));
  field(FIELD_IDENTIFIER, macaroon.identifier);
  end();
  for (const caveat of macaroon.caveats) {
    if (caveat.location) field(FIELD_LOCATION, utf8Encoder.encode(caveat.location));
    field(FIELD_IDENTIFIER, caveat.identifier);
    if (caveat.vid !== undefined) field(FIELD_VERIFICATION_ID, caveat.vid);
    end();
  }
  end();
  field(FIELD_SIGNATURE, macaroon.signature);
  return Buffer.concat(chunks);
}

/** Reads a V2 binary macaroon from base64 and checks that it carries an L402 identifier. */
function readMacaroon(macaroonBase64: string): { macaroon: Macaroon; decoded: DecodedMacaroon } {
  if (typeof macaroonBase64 !== 'string' || macaroonBase64.length === 0) {
    throw new MalformedMacaroonError('macaroon is empty');
  }
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64(macaroonBase64);
  } catch (error) {
    throw new MalformedMacaroonError('macaroon is not valid base64', { cause: error });
  }
  let macaroon: Macaroon;
  let caveats: string[];
  let location: string;
  try {
    // Only the binary V2 format: handing a string to the library would also accept JSON.
    macaroon = importMacaroon(bytes);
    location = macaroon.location ?? '';
    caveats = macaroon.caveats.map((caveat) => {
      if (caveat.vid !== undefined) throw new Error('third-party caveats are not used by L402');
      return utf8.decode(caveat.identifier);
    });
  } catch (error) {
    throw new MalformedMacaroonError('macaroon is not a readable V2 binary macaroon', {
      cause: error,
    });
  }
  const identifier = decodeIdentifier(macaroon.identifier);
  return {
    macaroon,
    decoded: {
      location,
      identifier,
      caveats,
      signature: bytesToHex(macaroon.signature),
      base64: encodeBase64(exportBinary(macaroon)),
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
  const macaroon = newMacaroon({
    identifier: encodeIdentifier(options.identifier),
    location: options.location,
    rootKey: options.rootKey,
    version: 2,
  });
  for (const caveat of options.caveats ?? []) macaroon.addFirstPartyCaveat(caveat);
  return encodeBase64(exportBinary(macaroon));
}

/** Attenuates a macaroon: anyone holding it can add caveats, nobody can remove them. */
export function addCaveats(macaroonBase64: string, caveats: string[]): string {
  const { macaroon } = readMacaroon(macaroonBase64);
  for (const caveat of caveats) macaroon.addFirstPartyCaveat(caveat);
  return encodeBase64(exportBinary(macaroon));
}

/**
 * Whether the macaroon's HMAC chain is valid under `rootKey`. Every first-party caveat is
 * accepted here; checking what the caveats mean is the caller's job. False, never a throw,
 * on a malformed macaroon or a wrong key.
 */
export function verifyMacaroonSignature(macaroonBase64: string, rootKey: Uint8Array): boolean {
  try {
    const { macaroon } = readMacaroon(macaroonBase64);
    // The library compares signatures with an xor-accumulating loop (constant time).
    macaroon.verify(rootKey, () => null);
    return true;
  } catch {
    return false;
  }
}
