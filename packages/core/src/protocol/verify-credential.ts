import { MalformedCredentialError } from '../errors.js';
import { decodeCheckedBase64 } from './base64.js';
import { preimageBytesOf, splitCredential } from './credential.js';
import { type MacaroonIdentifier, verifyMacaroonBytes } from './macaroon.js';
import { preimageMatches } from './preimage.js';

/** An `Authorization` credential read once and checked under a root key. */
export interface CheckedCredential {
  scheme: 'L402' | 'LSAT';
  identifier: MacaroonIdentifier;
  /** First-party caveats in order, as signed; what they mean is the caller's to check. */
  caveats: string[];
  /** The root key signed exactly this identifier and these caveats. */
  signatureValid: boolean;
  /** sha256 of the preimage is the identifier's payment hash (compared in constant time). */
  preimageValid: boolean;
}

/**
 * What a seller checks in `L402|LSAT <macaroon>:<preimage>` before reading the caveats, with
 * every part read once: the header split, the base64 checked in the decode itself (the same
 * strict rules as `parseCredential`), the V2 fields walked once, the HMAC chain run over the
 * bytes just read and the preimage hashed against the identifier's bytes. Throws
 * MalformedCredentialError for a credential `parseCredential` refuses and
 * MalformedMacaroonError for a macaroon `decodeMacaroon` refuses; a wrong signature or
 * preimage is not an error but a `false`.
 */
export function checkCredential(
  header: string | null | undefined,
  rootKey: Uint8Array,
): CheckedCredential {
  const credential = splitCredential(header);
  let bytes: Uint8Array;
  try {
    bytes = decodeCheckedBase64(credential.macaroon).bytes;
  } catch (error) {
    throw new MalformedCredentialError('credential macaroon is not base64', { cause: error });
  }
  const preimage = preimageBytesOf(credential.preimage);
  const macaroon = verifyMacaroonBytes(bytes, rootKey);
  return {
    scheme: credential.scheme,
    identifier: macaroon.identifier,
    caveats: macaroon.caveats,
    signatureValid: macaroon.signatureValid,
    preimageValid: preimageMatches(preimage, macaroon.paymentHash),
  };
}
