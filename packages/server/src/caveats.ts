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
  | 'insufficient_tier'
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

/** The scope plus what this paywall demands of every token whatever the request. */
export interface CaveatRequirements extends RequestScope {
  /** The paywall's tier: a token must name this service at this tier or a higher one. */
  tier: number;
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
  scope: CaveatRequirements,
  now: Date,
): RejectionReason | undefined {
  const keys = caveatKeys(serviceName);
  const services = caveatValues(caveats, keys.services);
  if (services.length === 0) return 'wrong_service';
  for (const value of services) {
    const entries = parseServices(value);
    if (entries === undefined) return 'invalid_caveat';
    const ours = entries.filter((entry) => entry.name === serviceName);
    if (ours.length === 0) return 'wrong_service';
    // A higher tier includes the lower ones; every entry must reach ours, so an added
    // caveat can lower a token's tier but never raise it.
    if (ours.some((entry) => entry.tier < scope.tier)) return 'insufficient_tier';
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

/** `name:tier,name:tier` to its entries; undefined when an entry is not of that form. */
function parseServices(value: string): Array<{ name: string; tier: number }> | undefined {
  const entries: Array<{ name: string; tier: number }> = [];
  for (const entry of splitList(value)) {
    const match = /^([^:\s]+):(\d+)$/.exec(entry);
    if (match === null) return undefined;
    entries.push({ name: match[1]!, tier: Number(match[2]) });
  }
  return entries;
}

function splitList(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}
