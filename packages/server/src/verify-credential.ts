import {
  type CheckedCredential,
  checkCredential,
  MalformedMacaroonError,
  type Msat,
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
    // One read of the header and the macaroon: base64, fields, HMAC chain, preimage.
    let credential: CheckedCredential;
    try {
      credential = checkCredential(header, context.rootKey);
    } catch (error) {
      return {
        ok: false,
        reason:
          error instanceof MalformedMacaroonError ? 'malformed_macaroon' : 'malformed_credential',
      };
    }
    if (!credential.signatureValid) return { ok: false, reason: 'invalid_signature' };
    if (!credential.preimageValid) return { ok: false, reason: 'preimage_mismatch' };
    // Read once for the checks, the amount paid and the expiry.
    const caveats = readCaveats(credential.caveats, context.serviceName);
    const reason = checkCaveats(caveats, context.serviceName, context.scope, context.now);
    if (reason !== undefined) return { ok: false, reason };
    return {
      ok: true,
      token: {
        scheme: credential.scheme,
        paymentHash: credential.identifier.paymentHash,
        tokenId: credential.identifier.tokenId,
        serviceName: context.serviceName,
        caveats: credential.caveats,
        paidMsat: paidMsatOf(caveats, context.serviceName),
        expiresAt: caveats.expiresAt,
      },
    };
  } catch {
    // A parser bug must not open the door: anything unexpected is a refusal.
    return { ok: false, reason: 'malformed_credential' };
  }
}
