import { caveatValues, macaroonExpiry } from '@l402kit/core';
import type { ResolvedOptions } from './options.js';

/** Why a credential was refused; every refusal is answered with a fresh 402. */
export type RejectionReason =
  | 'missing_credential'
  | 'malformed_credential'
  | 'malformed_macaroon'
  | 'invalid_signature'
  | 'preimage_mismatch'
  | 'invalid_caveat'
  | 'wrong_service'
  | 'expired'
  | 'wrong_path'
  | 'wrong_method'
  | 'missing_capability';

/** What the request asks for; the caveats must allow it. */
export interface RequestScope {
  path: string;
  method: string;
  /** A capability the request needs; checked against `<service>_capabilities` when present. */
  capability?: string;
}

/** The caveat keys one service uses, following aperture's `<service>_<condition>` convention. */
export function caveatKeys(serviceName: string) {
  return {
    services: 'services',
    capabilities: `${serviceName}_capabilities`,
    validUntil: `${serviceName}_valid_until`,
    path: `${serviceName}_path`,
    method: `${serviceName}_method`,
  };
}

/** The caveats of a new token, in aperture's order: services, capabilities, constraints, timeout. */
export function mintCaveats(options: ResolvedOptions, scope: RequestScope, now: Date): string[] {
  const keys = caveatKeys(options.serviceName);
  const caveats = [`${keys.services}=${options.serviceName}:${options.tier}`];
  if (options.capabilities.length > 0) {
    caveats.push(`${keys.capabilities}=${options.capabilities.join(',')}`);
  }
  if (options.bindToPath) caveats.push(`${keys.path}=${scope.path}`);
  if (options.bindToMethod) caveats.push(`${keys.method}=${scope.method.toUpperCase()}`);
  if (options.validForSeconds !== undefined) {
    const validUntil = Math.floor(now.getTime() / 1000) + options.validForSeconds;
    caveats.push(`${keys.validUntil}=${validUntil}`);
  }
  return caveats;
}

/**
 * Checks every caveat this service understands; unknown caveats are ignored, as the macaroon
 * model requires. A repeated key may only narrow, so every occurrence must allow the request.
 */
export function checkCaveats(
  caveats: string[],
  serviceName: string,
  scope: RequestScope,
  now: Date,
): RejectionReason | undefined {
  const keys = caveatKeys(serviceName);
  const services = caveatValues(caveats, keys.services);
  if (services.length === 0) return 'wrong_service';
  for (const value of services) {
    const names = parseServices(value);
    if (names === undefined) return 'invalid_caveat';
    if (!names.includes(serviceName)) return 'wrong_service';
  }
  // Every `*_valid_until`, ours or not, and unreadable ones count as expired: fail closed.
  // Valid strictly before the instant, as in aperture's timeout satisfier.
  const expiry = macaroonExpiry(caveats);
  if (expiry !== undefined && now.getTime() >= expiry.getTime()) return 'expired';
  for (const path of caveatValues(caveats, keys.path)) {
    if (path !== scope.path) return 'wrong_path';
  }
  for (const method of caveatValues(caveats, keys.method)) {
    if (method.toUpperCase() !== scope.method.toUpperCase()) return 'wrong_method';
  }
  if (scope.capability !== undefined) {
    for (const value of caveatValues(caveats, keys.capabilities)) {
      if (!splitList(value).includes(scope.capability)) return 'missing_capability';
    }
  }
  return undefined;
}

/** `name:tier,name:tier` to the names; undefined when an entry is not of that form. */
function parseServices(value: string): string[] | undefined {
  const names: string[] = [];
  for (const entry of splitList(value)) {
    const match = /^([^:\s]+):(\d+)$/.exec(entry);
    if (match === null) return undefined;
    names.push(match[1]!);
  }
  return names;
}

function splitList(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}
