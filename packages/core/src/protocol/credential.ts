import { checkBase64 } from './base64.js';
import { hash32Bytes } from './preimage.js';
import { MalformedCredentialError } from '../errors.js';

/** What goes into `Authorization: L402 <macaroon>:<preimage>`. */
export interface L402Credential {
  scheme: 'L402' | 'LSAT';
  /** Base64 as the server sent it. */
  macaroon: string;
  /** 32 bytes, lower-case hex. */
  preimage: string;
}

function checkScheme(scheme: string): 'L402' | 'LSAT' {
  const upper = typeof scheme === 'string' ? scheme.toUpperCase() : '';
  if (upper !== 'L402' && upper !== 'LSAT') {
    throw new MalformedCredentialError('credential scheme must be L402 or LSAT');
  }
  return upper;
}

function checkMacaroon(macaroon: string): string {
  try {
    checkBase64(macaroon);
  } catch (error) {
    throw new MalformedCredentialError('credential macaroon is not base64', { cause: error });
  }
  return macaroon;
}

// RFC 7235 token68: what an Authorization value can carry unquoted. Base64 is one of them.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Whether `token` can be sent in `Authorization: L402 <token>:<preimage>` (no ':', no spaces). */
export function isSendableToken(token: string): boolean {
  return typeof token === 'string' && TOKEN68.test(token);
}

function checkToken(token: string): string {
  if (!isSendableToken(token)) {
    throw new MalformedCredentialError(
      'credential token must be base64 or another token68 value (no spaces, no ":")',
    );
  }
  return token;
}

const PREIMAGE_PROBLEM = 'credential preimage must be 32 bytes of hex';

function checkPreimage(preimage: string): string {
  if (hash32Bytes(preimage) === undefined) {
    throw new MalformedCredentialError(PREIMAGE_PROBLEM);
  }
  return preimage.toLowerCase();
}

/** The preimage of a split credential as its 32 bytes: what `checkPreimage` accepts. */
export function preimageBytesOf(preimage: string): Buffer {
  const bytes = hash32Bytes(preimage);
  if (bytes === undefined) throw new MalformedCredentialError(PREIMAGE_PROBLEM);
  return bytes;
}

/**
 * `L402 <base64 macaroon>:<64 lower-case hex>`: upper-case scheme and lower-case preimage,
 * the only form aperture's parser accepts. The scheme defaults to L402. The macaroon may be any
 * token68 value, for servers whose tokens are not macaroons (see `allowOpaqueTokens`).
 */
export function formatCredential(credential: {
  scheme?: 'L402' | 'LSAT';
  macaroon: string;
  preimage: string;
}): string {
  const scheme = checkScheme(credential.scheme ?? 'L402');
  return `${scheme} ${checkToken(credential.macaroon)}:${checkPreimage(credential.preimage)}`;
}

/** Reads an `Authorization` value; scheme and hex in any case. MalformedCredentialError otherwise. */
export function parseCredential(header: string | null | undefined): L402Credential {
  const { scheme, macaroon, preimage } = splitCredential(header);
  return { scheme, macaroon: checkMacaroon(macaroon), preimage: checkPreimage(preimage) };
}

/**
 * `parseCredential` without the checks of the macaroon's base64 and the preimage's hex, for a
 * reader that decodes both at once and checks them there (`decodeCheckedBase64` refuses exactly
 * what `checkBase64` does, `preimageBytesOf` what `checkPreimage` does): the scheme, a non-empty
 * macaroon and the preimage text as sent.
 */
export function splitCredential(header: string | null | undefined): L402Credential {
  const trimmed = typeof header === 'string' ? header.trim() : '';
  if (trimmed.length === 0) throw new MalformedCredentialError('no Authorization credential');
  const match = /^([^\s]+)[ \t]+([^\s]+)$/.exec(trimmed);
  if (match === null)
    throw new MalformedCredentialError('credential must be "L402 <macaroon>:<preimage>"');
  const scheme = checkScheme(match[1] as string);
  const token = match[2] as string;
  // Base64 has no ':', so the last one separates macaroon and preimage.
  const separator = token.lastIndexOf(':');
  if (separator < 0)
    throw new MalformedCredentialError('credential has no ":" between macaroon and preimage');
  if (separator === 0) throw new MalformedCredentialError('credential has no macaroon');
  return {
    scheme,
    macaroon: token.slice(0, separator),
    preimage: token.slice(separator + 1),
  };
}
