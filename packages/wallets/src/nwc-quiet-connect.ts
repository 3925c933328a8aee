import type { NWCClient } from '@getalby/sdk/nwc';

export type NwcModule = typeof import('@getalby/sdk/nwc');

interface ClientInternals {
  _checkConnected?: () => Promise<void>;
  pool?: { ensureRelay(url: string): Promise<unknown> };
  relayUrls?: string[];
}

/**
 * The SDK checks its relay connection before every request and, when no relay answers,
 * prints the raw AggregateError with console.error before throwing. This makes the same
 * check (the same error type and message) without printing: the caller already gets a typed
 * error that says the wallet service could not be reached. If a later SDK changes these
 * internals, its own check stays in place.
 */
export function quietConnectionCheck(sdk: NwcModule, client: NWCClient): void {
  const internals = client as unknown as ClientInternals;
  const { pool, relayUrls } = internals;
  if (typeof internals._checkConnected !== 'function' || !pool || !Array.isArray(relayUrls)) {
    return;
  }
  internals._checkConnected = async () => {
    try {
      await Promise.any(relayUrls.map((url) => pool.ensureRelay(url)));
    } catch {
      throw new sdk.Nip47NetworkError(`Failed to connect to ${relayUrls.join(',')}`, 'OTHER');
    }
  };
}
