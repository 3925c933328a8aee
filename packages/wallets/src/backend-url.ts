import { WalletConfigError } from '@l402kit/core';
import { refuseBlockedPort } from './blocked-ports.js';

/**
 * Checks the base URL of a REST backend and returns it with its host for messages. Credentials
 * belong in the wallet options, not the URL, and the URL is never repeated in an error.
 */
export function backendUrl(url: string, backend: string): { url: string; host: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WalletConfigError(`${backend}: the URL is not valid`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WalletConfigError(`${backend}: the URL must start with https:// or http://`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new WalletConfigError(
      `${backend} at ${parsed.host}: pass credentials as options, not inside the URL`,
    );
  }
  refuseBlockedPort(parsed, backend);
  parsed.search = '';
  parsed.hash = '';
  return { url: parsed.toString(), host: parsed.host };
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Seconds a backend may keep trying routes: a little less than the caller waits for an answer. */
export function backendPaymentSeconds(timeoutMs: number): number {
  return Math.max(1, Math.ceil(timeoutMs / 1000) - 1);
}
