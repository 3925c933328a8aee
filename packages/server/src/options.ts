import { type Msat, satsToMsat, type Wallet } from '@l402kit/core';
import { PaywallConfigError } from './errors.js';

/** Sats as a number, msat as a bigint. */
export type PriceValue = number | bigint;

/**
 * A fixed price, or one computed from the request (a price of 0 lets the request through free).
 * A function is asked again on every paid request: a token opens a request only when it paid
 * at least what the request costs now.
 */
export type Price =
  | PriceValue
  | ((request: Request, context: PriceContext) => PriceValue | Promise<PriceValue>);

/** What the paywall knows about a request before pricing it. */
export interface PriceContext {
  /** The request's key from the `requestKey` option; undefined without one. */
  requestKey: string | undefined;
}

export interface PaywallOptions {
  /** Creates the invoices buyers pay; must implement `createInvoice`. */
  wallet: Wallet;
  /** Secret that signs every macaroon: at least 32 random bytes, kept stable across restarts. */
  rootKey: Uint8Array;
  /** Service name in `services=<name>:<tier>` and the `<name>_...` caveats (aperture's convention). */
  serviceName: string;
  price: Price;
  /**
   * Service tier written into the `services=` caveat; default 0. A token opens paywalls of the
   * same service at its tier or lower ones.
   */
  tier?: number;
  /** Invoice description and the `description` of the 402 JSON body. */
  description?: string;
  /** Adds `<service>_valid_until=<unix seconds>` so the token stops working after this long. */
  validForSeconds?: number;
  /**
   * Adds `<service>_path=<path>`: the token only opens the path it was bought for. Default:
   * on when `price` is a function (the price depends on the request), off for a fixed price.
   */
  bindToPath?: boolean;
  /** Adds `<service>_method=<METHOD>`: the token only works with the method it was bought for. */
  bindToMethod?: boolean;
  /**
   * Binds every token to one request: the key this function derives from the request (say,
   * method, path, query and a digest of the body) is hashed into `<service>_request=<sha256>`,
   * and a token opens only requests with the same key (a token without the caveat opens
   * nothing). The price function receives the key too. Asked on every request; it may read
   * the body (it gets a copy).
   */
  requestKey?: (request: Request) => string | Promise<string>;
  /** Adds `<service>_capabilities=a,b`. */
  capabilities?: readonly string[];
  /** Offer the legacy `LSAT` challenge line before the `L402` one, as aperture does; default true. */
  offerLsat?: boolean;
  /** Expiry of the invoices the wallet creates; wallet default when unset. */
  invoiceExpirySeconds?: number;
  /** Macaroon location; default the service name. */
  location?: string;
  /** Clock for expiry caveats; injectable for tests. */
  now?: () => Date;
  /** Told about failures while issuing a challenge (wallet down, price function threw). */
  onError?: (error: unknown) => void;
}

export interface ResolvedOptions {
  wallet: Wallet & { createInvoice: NonNullable<Wallet['createInvoice']> };
  rootKey: Uint8Array;
  serviceName: string;
  price: Price;
  tier: number;
  description: string | undefined;
  validForSeconds: number | undefined;
  bindToPath: boolean;
  bindToMethod: boolean;
  requestKey: ((request: Request) => string | Promise<string>) | undefined;
  capabilities: readonly string[];
  offerLsat: boolean;
  invoiceExpirySeconds: number | undefined;
  location: string;
  now: () => Date;
  onError: (error: unknown) => void;
}

// Service and capability names end up inside `services=a:0,b:1` and `<name>_...` keys.
const NAME = /^[A-Za-z0-9_.-]+$/;
const MIN_ROOT_KEY_BYTES = 32;

export function resolveOptions(options: PaywallOptions): ResolvedOptions {
  const { wallet, rootKey, serviceName } = options;
  if (wallet === null || typeof wallet !== 'object' || typeof wallet.createInvoice !== 'function') {
    throw new PaywallConfigError('the paywall needs a wallet that can create invoices');
  }
  if (!(rootKey instanceof Uint8Array) || rootKey.length < MIN_ROOT_KEY_BYTES) {
    throw new PaywallConfigError(
      `the root key must be at least ${MIN_ROOT_KEY_BYTES} random bytes (Uint8Array)`,
    );
  }
  if (typeof serviceName !== 'string' || !NAME.test(serviceName)) {
    throw new PaywallConfigError('the service name must be letters, digits, ".", "_" or "-"');
  }
  if (typeof options.price !== 'function') priceToMsat(options.price);
  const tier = options.tier ?? 0;
  if (!Number.isSafeInteger(tier) || tier < 0) {
    throw new PaywallConfigError('the tier must be a non-negative integer');
  }
  const capabilities = options.capabilities ?? [];
  for (const capability of capabilities) {
    if (typeof capability !== 'string' || !NAME.test(capability)) {
      throw new PaywallConfigError('capabilities must be letters, digits, ".", "_" or "-"');
    }
  }
  if (options.requestKey !== undefined && typeof options.requestKey !== 'function') {
    throw new PaywallConfigError('requestKey must be a function of the request');
  }
  checkPositiveInteger('validForSeconds', options.validForSeconds);
  checkPositiveInteger('invoiceExpirySeconds', options.invoiceExpirySeconds);
  return {
    wallet: wallet as ResolvedOptions['wallet'],
    // A copy, so a caller that reuses its buffer cannot change the key under us.
    rootKey: Uint8Array.from(rootKey),
    serviceName,
    price: options.price,
    tier,
    description: options.description,
    validForSeconds: options.validForSeconds,
    bindToPath: options.bindToPath ?? typeof options.price === 'function',
    bindToMethod: options.bindToMethod ?? false,
    requestKey: options.requestKey,
    capabilities: [...capabilities],
    offerLsat: options.offerLsat ?? true,
    invoiceExpirySeconds: options.invoiceExpirySeconds,
    location: options.location ?? serviceName,
    now: options.now ?? (() => new Date()),
    onError: options.onError ?? (() => {}),
  };
}

function checkPositiveInteger(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new PaywallConfigError(`${name} must be a positive whole number of seconds`);
  }
}

/** Sats (number) or msat (bigint) to msat; refuses negative, fractional-msat and non-numbers. */
export function priceToMsat(price: unknown): Msat {
  if (typeof price === 'bigint') {
    if (price < 0n) throw new PaywallConfigError('a price cannot be negative');
    return price;
  }
  if (typeof price === 'number') {
    try {
      return satsToMsat(price);
    } catch (cause) {
      throw new PaywallConfigError(
        'a price must be a non-negative number of sats, exact to the millisatoshi',
        { cause },
      );
    }
  }
  throw new PaywallConfigError('a price must be sats (number) or msat (bigint)');
}

/** The price of this request in msat. */
export async function priceOf(
  price: Price,
  request: Request,
  context: PriceContext = { requestKey: undefined },
): Promise<Msat> {
  return priceToMsat(typeof price === 'function' ? await price(request, context) : price);
}
