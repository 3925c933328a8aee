import {
  type DecodedMacaroon,
  type Msat,
  isPreimageFor,
  parseCredential,
  verifyMacaroon,
} from '@l402kit/core';
import {
  type CaveatRequirements,
  checkCaveats,
  paidMsatOf,
  type RejectionReason,
  readCaveats,
} from './caveats.js';

/** What a valid credential proves: who paid for what, and until when. */
export interface PaidToken {
  scheme: string;
  /** The payment hash the buyer paid (hex); unique per token. */
  paymentHash: string;
  tokenId: string;
  serviceName: string;
  caveats: string[];
  /** What the token paid (its least `<service>_paid_msat`); undefined if it names no amount. */
  paidMsat: Msat | undefined;
  /** The earliest `*_valid_until` caveat, if any. */
  expiresAt: Date | undefined;
}

export type VerificationResult =
  | { ok: true; token: PaidToken }
  | { ok: false; reason: RejectionReason };

export interface VerificationContext {
  rootKey: Uint8Array;
  serviceName: string;
  scope: CaveatRequirements;
  now: Date;
}

/**
 * Checks an `Authorization` value: `L402|LSAT <macaroon>:<preimage>`, the macaroon's HMAC
 * chain under the root key, the preimage against the identifier's payment hash (constant
 * time), then the caveats. Never throws: every failure is a reason for a fresh 402.
 */
export function verifyAuthorization(
  header: string | null | undefined,
  context: VerificationContext,
): VerificationResult {
  if (header === null || header === undefined || header.trim() === '') {
    return { ok: false, reason: 'missing_credential' };
  }
  try {
    let credential: ReturnType<typeof parseCredential>;
    try {
      credential = parseCredential(header);
    } catch {
      return { ok: false, reason: 'malformed_credential' };
    }
    // One parse: the HMAC chain is checked over the fields just read.
    let macaroon: DecodedMacaroon;
    try {
      const verified = verifyMacaroon(credential.macaroon, context.rootKey);
      if (!verified.signatureValid) return { ok: false, reason: 'invalid_signature' };
      macaroon = verified.macaroon;
    } catch {
      return { ok: false, reason: 'malformed_macaroon' };
    }
    if (!isPreimageFor(credential.preimage, macaroon.identifier.paymentHash)) {
      return { ok: false, reason: 'preimage_mismatch' };
    }
    // Read once for the checks, the amount paid and the expiry.
    const caveats = readCaveats(macaroon.caveats, context.serviceName);
    const reason = checkCaveats(caveats, context.serviceName, context.scope, context.now);
    if (reason !== undefined) return { ok: false, reason };
    return {
      ok: true,
      token: {
        scheme: credential.scheme,
        paymentHash: macaroon.identifier.paymentHash,
        tokenId: macaroon.identifier.tokenId,
        serviceName: context.serviceName,
        caveats: macaroon.caveats,
        paidMsat: paidMsatOf(caveats, context.serviceName),
        expiresAt: caveats.expiresAt,
      },
    };
  } catch {
    // A parser bug must not open the door: anything unexpected is a refusal.
    return { ok: false, reason: 'malformed_credential' };
  }
}
