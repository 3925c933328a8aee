import { readFileSync } from 'node:fs';
import {
  type CreatedInvoice,
  type CreateInvoiceRequest,
  type Msat,
  type PaymentStatus,
  type Wallet,
  WalletConfigError,
} from '@l402kit/core';
import { createSandboxWallet, type SandboxWalletSetup } from '@l402kit/sandbox';
import { createClnWallet } from './cln-wallet.js';
import { createLnbitsWallet } from './lnbits-wallet.js';
import { createLndWallet } from './lnd-wallet.js';
import { createNwcWallet } from './nwc-wallet.js';
import { createPhoenixdWallet } from './phoenixd-wallet.js';
import { LNBITS_DEFAULT_FEE_RESERVE } from './worst-case-fee.js';

export interface WalletFromUrlOptions {
  /** Timeout for balance, invoice and lookup calls; payments use the caller's timeout. */
  timeoutMs?: number;
}

/** A `sandbox:` wallet: the payer of a fresh in-process network, with the network at hand. */
export interface SandboxUrlWallet extends Wallet {
  getBalance(): Promise<{ balanceMsat: Msat }>;
  createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice>;
  lookupPayment(paymentHash: string): Promise<PaymentStatus>;
  close(): Promise<void>;
  /** The network, the funded payer and an empty merchant node, e.g. for a same-process paywall. */
  readonly sandbox: SandboxWalletSetup;
}

export const WALLET_ENV_VARIABLE = 'L402KIT_WALLET';

/**
 * Builds a wallet from one connection URL:
 * - `nostr+walletconnect://<wallet pubkey>?relay=wss://...&secret=<hex>`
 * - `lnd+rest://<macaroon hex>@host:port[?cert=/path/tls.cert][&tls=false]`
 * - `lnbits://<admin key>@host[:port][/path][?tls=false][&reserve_fee_min=<msat>&reserve_fee_percent=<n>]`
 * - `phoenixd://:<http-password>@host:port[?tls=true]` (plain http by default, as phoenixd serves)
 * - `clnrest://<rune>@host:port[?cert=/path/ca.pem][&tls=false]`
 * - `sandbox:[?balance=<sats>]`
 * Errors are WalletConfigError and name only the scheme and host, never a secret.
 */
export function walletFromUrl(url: string, options: WalletFromUrlOptions = {}): Wallet {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new WalletConfigError('wallet URL is empty');
  }
  const text = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined)
    throw new WalletConfigError('wallet URL has no scheme (e.g. lnbits://)');
  const timeout = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };

  if (scheme === 'nostr+walletconnect' || scheme === 'nostrwalletconnect') {
    return createNwcWallet({ url: text, ...timeout });
  }
  if (scheme === 'sandbox') return sandboxWallet(text);

  const parsed = parseServerUrl(text, scheme);
  const where = `${scheme}://${parsed.host}`;
  const { secret, httpUrl, query } = parsed;
  switch (scheme) {
    case 'lnd+rest':
      if (secret.user === '')
        throw new WalletConfigError(`${where}: put the macaroon (hex) before the @`);
      return createLndWallet({
        url: httpUrl(true),
        macaroonHex: secret.user,
        ...certificate(query, where),
        ...timeout,
      });
    case 'lnbits':
      if (secret.user === '')
        throw new WalletConfigError(`${where}: put the admin key before the @`);
      return createLnbitsWallet({
        url: httpUrl(true),
        adminKey: secret.user,
        ...lnbitsFeeReserve(query, where),
        ...timeout,
      });
    case 'phoenixd':
      if (secret.password === '') {
        throw new WalletConfigError(`${where}: put the http-password after ":" and before the @`);
      }
      return createPhoenixdWallet({ url: httpUrl(false), password: secret.password, ...timeout });
    case 'clnrest':
      if (secret.user === '') throw new WalletConfigError(`${where}: put the rune before the @`);
      return createClnWallet({
        url: httpUrl(true),
        rune: secret.user,
        ...certificate(query, where),
        ...timeout,
      });
    default:
      throw new WalletConfigError(
        `unknown wallet URL scheme "${scheme.length > 24 ? `${scheme.slice(0, 24)}...` : scheme}" (use nostr+walletconnect, lnd+rest, lnbits, phoenixd, clnrest or sandbox)`,
      );
  }
}

/** `walletFromUrl(env.L402KIT_WALLET)`. */
export function walletFromEnv(
  env: Record<string, string | undefined> = process.env,
  options: WalletFromUrlOptions = {},
): Wallet {
  const url = env[WALLET_ENV_VARIABLE];
  if (url === undefined || url.trim() === '') {
    throw new WalletConfigError(
      `${WALLET_ENV_VARIABLE} is not set; set it to a wallet URL such as nostr+walletconnect://... or sandbox:`,
    );
  }
  return walletFromUrl(url, options);
}

interface ServerUrl {
  host: string;
  secret: { user: string; password: string };
  query: URLSearchParams;
  /** The http(s) base URL; `secureByDefault` picks https unless `?tls=` says otherwise. */
  httpUrl(secureByDefault: boolean): string;
}

function parseServerUrl(text: string, scheme: string): ServerUrl {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new WalletConfigError(
      `${scheme} wallet URL is not valid (expected ${scheme}://<secret>@host:port)`,
    );
  }
  if (parsed.host === '') {
    throw new WalletConfigError(
      `${scheme} wallet URL has no host (expected ${scheme}://<secret>@host:port)`,
    );
  }
  const where = `${scheme}://${parsed.host}`;
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new WalletConfigError(`${where}: the credentials are not validly percent-encoded`);
    }
  };
  const tls = parsed.searchParams.get('tls');
  if (tls !== null && tls !== 'true' && tls !== 'false') {
    throw new WalletConfigError(`${where}: tls must be true or false`);
  }
  return {
    host: parsed.host,
    secret: { user: decode(parsed.username), password: decode(parsed.password) },
    query: parsed.searchParams,
    httpUrl(secureByDefault) {
      const secure = tls === null ? secureByDefault : tls === 'true';
      const path = parsed.pathname === '' || parsed.pathname === '/' ? '' : parsed.pathname;
      return `${secure ? 'https' : 'http'}://${parsed.host}${path}`;
    },
  };
}

function certificate(query: URLSearchParams, where: string): { tlsCert?: string } {
  const path = query.get('cert');
  if (path === null) return {};
  try {
    return { tlsCert: readFileSync(path, 'utf8') };
  } catch {
    throw new WalletConfigError(`${where}: cannot read the TLS certificate file given in cert=`);
  }
}

function sandboxWallet(text: string): SandboxUrlWallet {
  const query = new URLSearchParams(text.slice(text.indexOf('?') + 1 || text.length));
  const balance = query.get('balance');
  let balanceSats: bigint | undefined;
  if (balance !== null) {
    if (!/^\d+$/.test(balance)) throw new WalletConfigError('sandbox: balance must be whole sats');
    balanceSats = BigInt(balance);
  }
  const sandbox = createSandboxWallet(balanceSats === undefined ? {} : { balanceSats });
  const wallet = sandbox.wallet;
  return {
    name: wallet.name,
    network: 'regtest',
    sandbox,
    payInvoice: (request) => wallet.payInvoice(request),
    getBalance: () => wallet.getBalance!(),
    createInvoice: (request) => wallet.createInvoice!(request),
    lookupPayment: (paymentHash) => wallet.lookupPayment!(paymentHash),
    close: async () => {},
  };
}

/**
 * The instance's fee reserve from `?reserve_fee_min=<msat>&reserve_fee_percent=<n>`, named after
 * LNbits' own LNBITS_RESERVE_FEE_MIN and LNBITS_RESERVE_FEE_PERCENT; LNbits' defaults otherwise.
 */
function lnbitsFeeReserve(query: URLSearchParams, where: string) {
  const minimum = query.get('reserve_fee_min');
  const percent = query.get('reserve_fee_percent');
  if (minimum === null && percent === null) return {};
  if (minimum !== null && !/^\d{1,15}$/.test(minimum)) {
    throw new WalletConfigError(`${where}: reserve_fee_min must be a whole number of msat`);
  }
  if (percent !== null && !/^\d{1,3}(\.\d{1,4})?$/.test(percent)) {
    throw new WalletConfigError(`${where}: reserve_fee_percent must be a number such as 1.0`);
  }
  return {
    worstCaseFee: {
      baseMsat: 0n,
      ppm: percent === null ? LNBITS_DEFAULT_FEE_RESERVE.ppm : Math.round(Number(percent) * 10_000),
      minimumMsat: minimum === null ? LNBITS_DEFAULT_FEE_RESERVE.minimumMsat! : BigInt(minimum),
    },
  };
}
