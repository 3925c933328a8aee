import type { Nip47Transaction, NWCClient } from '@getalby/sdk/nwc';
import {
  type CreatedInvoice,
  type CreateInvoiceRequest,
  type FeeLimit,
  type L402Error,
  type Msat,
  type PayInvoiceRequest,
  type PayInvoiceResult,
  PaymentFailedError,
  type PaymentStatus,
  RequestFailedError,
  type Wallet,
  type WalletBudget,
  WalletConfigError,
  WalletUnsupportedError,
} from '@l402kit/core';
import { refuseBlockedPort } from './blocked-ports.js';
import { DEFAULT_TIMEOUT_MS } from './backend-url.js';
import { ensureWebSocket } from './ensure-websocket.js';
import { payStakes, type RequestStakes, unknownOutcome } from './http-json.js';
import { nip47Error } from './nwc-errors.js';
import { type NwcModule, quietConnectionCheck } from './nwc-quiet-connect.js';
import { isRecord, parseHash, parseMsat, requireHash } from './parse-fields.js';
import { NWC_DEFAULT_WORST_CASE_FEE, worstCaseFeeFor } from './worst-case-fee.js';

export interface NwcWalletOptions {
  /** `nostr+walletconnect://<wallet pubkey>?relay=wss://...&secret=<hex>` from the wallet. */
  url: string;
  /** Timeout for balance, invoice, budget and lookup calls; payments use the caller's timeout. */
  timeoutMs?: number;
  /**
   * The most the wallet may charge in fees (NIP-47 has no fee limit), reserved in the budget
   * before paying. Default `NWC_DEFAULT_WORST_CASE_FEE`, Alby Hub's max(10 sat, 1 %); set your
   * wallet's own rule if it differs.
   */
  worstCaseFee?: FeeLimit;
}

export interface NwcWallet extends Wallet {
  getBalance(): Promise<{ balanceMsat: Msat }>;
  createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice>;
  lookupPayment(paymentHash: string): Promise<PaymentStatus>;
  /** The wallet-side budget of this connection, when the wallet offers `get_budget`. */
  getBudget(): Promise<WalletBudget | undefined>;
  worstCaseFeeMsat(amountMsat: Msat): Msat;
  close(): Promise<void>;
}

type ServiceInfo = Awaited<ReturnType<NWCClient['getWalletServiceInfo']>>;
type Execute = (
  method: string,
  params: unknown,
  validate: (result: never) => boolean,
  timeouts: { replyTimeout?: number; publishTimeout?: number },
) => Promise<unknown>;

interface CallOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  stakes: RequestStakes;
}

const HEX_64 = /^[0-9a-f]{64}$/i;
// The SDK gives up publishing after 5 s by default; never wait longer than the caller does.
const PUBLISH_TIMEOUT_MS = 5_000;
// How long close() waits for requests still running inside the SDK (their own timers end them).
const CLOSE_WAIT_MS = 15_000;

/**
 * A wallet over Nostr Wallet Connect (NIP-47) with `@getalby/sdk`'s NWCClient. Amounts are
 * msat on the wire. A payment whose answer does not arrive in time is reported as an unknown
 * outcome; `lookupPayment` (lookup_invoice) settles it later.
 */
export function createNwcWallet(options: NwcWalletOptions): NwcWallet {
  const connection = parseConnectionUrl(options.url);
  const name = `nwc:${connection.walletPubkey.slice(0, 12)}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const worstCaseFeeMsat = worstCaseFeeFor(
    options.worstCaseFee ?? NWC_DEFAULT_WORST_CASE_FEE,
    name,
  );
  const running = new Set<Promise<unknown>>();
  let loaded: Promise<{ sdk: NwcModule; client: NWCClient }> | undefined;
  let info: Promise<ServiceInfo> | undefined;
  let closed = false;

  // Promises the SDK keeps running (subscriptions, timers) are tracked so close() can wait.
  const track = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    void work.then(
      () => running.delete(work),
      () => running.delete(work),
    );
    return work;
  };

  const load = () => {
    loaded ??= (async () => {
      await ensureWebSocket();
      const sdk = await import('@getalby/sdk/nwc');
      const client = new sdk.NWCClient({ nostrWalletConnectUrl: options.url });
      quietConnectionCheck(sdk, client);
      return { sdk, client };
    })();
    return loaded;
  };

  const serviceInfo = (client: NWCClient) => {
    info ??= track(client.getWalletServiceInfo()).catch((error: unknown) => {
      info = undefined;
      throw error;
    });
    return info;
  };

  async function call<T>(method: string, params: unknown, call: CallOptions): Promise<T> {
    const { stakes } = call;
    if (closed) throw notSent(name, 'the wallet is closed', stakes);
    const timeout = AbortSignal.timeout(call.timeoutMs);
    const deadline = call.signal === undefined ? timeout : AbortSignal.any([timeout, call.signal]);
    const started = Date.now();
    const { sdk, client } = await load();

    // Connecting and reading the service's info event sends nothing to the wallet.
    try {
      await untilAborted(serviceInfo(client), deadline);
    } catch (error) {
      const reason = deadline.aborted ? abortReason(timeout, call.timeoutMs) : describe(error);
      if (error instanceof sdk.Nip47UnsupportedEncryptionError) {
        throw new WalletUnsupportedError(`${name}: ${describe(error)}`);
      }
      throw notSent(name, `could not reach the wallet service (${reason})`, stakes, error);
    }

    const remaining = Math.max(1, call.timeoutMs - (Date.now() - started));
    const work = track(
      executor(client)(method, params, () => true, {
        replyTimeout: remaining,
        publishTimeout: Math.min(remaining, PUBLISH_TIMEOUT_MS),
      }),
    );
    try {
      return (await untilAborted(work, deadline)) as T;
    } catch (error) {
      const aborted = deadline.aborted ? abortReason(timeout, call.timeoutMs) : undefined;
      throw classify(sdk, error, aborted, stakes);
    }
  }

  function classify(
    sdk: NwcModule,
    error: unknown,
    aborted: string | undefined,
    stakes: RequestStakes,
  ): L402Error {
    if (error instanceof sdk.Nip47WalletError) {
      return nip47Error(name, error.code, scrub(error.message, connection.secret), stakes);
    }
    if (aborted === undefined) {
      if (error instanceof sdk.Nip47UnsupportedEncryptionError) {
        return new WalletUnsupportedError(`${name}: ${describe(error)}`);
      }
      // The relay refused the request event, or no relay could be reached: nothing went out.
      if (error instanceof sdk.Nip47PublishError || error instanceof sdk.Nip47NetworkError) {
        return notSent(name, describe(error), stakes, error);
      }
    }
    const reason = aborted ?? describe(error);
    if (stakes.kind === 'read')
      return new RequestFailedError(`${name}: ${reason}`, { cause: error });
    return unknownOutcome({ name }, `${reason} after the request was published`, stakes);
  }

  const read = <T>(method: string, params: unknown = {}) =>
    call<T>(method, params, { timeoutMs, stakes: { kind: 'read' } });

  return {
    name,
    worstCaseFeeMsat,

    async payInvoice(request: PayInvoiceRequest): Promise<PayInvoiceResult> {
      const stakes = payStakes(request);
      const result = await call<unknown>(
        'pay_invoice',
        { invoice: request.invoice },
        { timeoutMs: request.timeoutMs, signal: request.signal, stakes },
      );
      const preimage = isRecord(result) ? parseHash(result['preimage']) : undefined;
      if (preimage === undefined) {
        throw unknownOutcome({ name }, 'the wallet answered without a valid preimage', stakes);
      }
      // NIP-47 makes fees_paid optional; a wallet that leaves it out reports no fee.
      const feeMsat = isRecord(result) ? (parseMsat(result['fees_paid']) ?? 0n) : 0n;
      return { preimage, feeMsat };
    },

    async getBalance() {
      const result = await read<unknown>('get_balance');
      const balanceMsat = isRecord(result) ? parseMsat(result['balance']) : undefined;
      if (balanceMsat === undefined)
        throw new RequestFailedError(`${name}: get_balance has no balance`);
      return { balanceMsat };
    },

    async createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice> {
      const result = await read<Partial<Nip47Transaction>>('make_invoice', {
        amount: Number(request.amountMsat),
        description: request.description ?? '',
        ...(request.expirySeconds === undefined ? {} : { expiry: request.expirySeconds }),
      });
      const paymentHash = parseHash(result?.payment_hash);
      if (typeof result?.invoice !== 'string' || paymentHash === undefined) {
        throw new RequestFailedError(`${name}: make_invoice lacks invoice or payment_hash`);
      }
      return { invoice: result.invoice, paymentHash };
    },

    async lookupPayment(paymentHash: string): Promise<PaymentStatus> {
      const hash = requireHash(paymentHash);
      try {
        return transactionStatus(await read<unknown>('lookup_invoice', { payment_hash: hash }));
      } catch (error) {
        // Not found, timed out or unreadable: the wallet has not told us anything yet.
        if (error instanceof RequestFailedError) return { state: 'unknown' };
        throw error;
      }
    },

    async getBudget() {
      const { client } = await load();
      const { capabilities } = await serviceInfo(client);
      if (!capabilities.includes('get_budget')) return undefined;
      let result: unknown;
      try {
        result = await read<unknown>('get_budget');
      } catch (error) {
        if (error instanceof WalletUnsupportedError) return undefined;
        throw error;
      }
      return walletBudget(result);
    },

    async close() {
      closed = true;
      if (loaded === undefined) return;
      const { client } = await loaded;
      // Closing a relay under a live SDK subscription makes the SDK reconnect; let them end first.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...running]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, CLOSE_WAIT_MS);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      client.close();
    },
  };
}

function notSent(name: string, reason: string, stakes: RequestStakes, cause?: unknown): L402Error {
  if (stakes.kind === 'read') return new RequestFailedError(`${name}: ${reason}`, { cause });
  return new PaymentFailedError(`${name}: ${reason}; the payment request was not sent`, {
    paymentHash: stakes.paymentHash,
    cause,
  });
}

/** Settles with the work, or rejects as soon as the signal aborts (the work keeps running). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abortReason(timeout: AbortSignal, timeoutMs: number): string {
  return timeout.aborted ? `no answer within ${timeoutMs} ms` : 'aborted by the caller';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function scrub(text: string, secret: string): string {
  return text.split(secret).join('[redacted]');
}

// Public SDK methods for each NIP-47 method, used only if the SDK stops exposing its executor.
const PUBLIC_METHODS: Record<string, keyof NWCClient> = {
  pay_invoice: 'payInvoice',
  get_balance: 'getBalance',
  make_invoice: 'makeInvoice',
  lookup_invoice: 'lookupInvoice',
  get_budget: 'getBudget',
};

/**
 * The SDK's request executor takes per-request timeouts, so a timed-out request ends inside
 * the SDK too (its public methods wait up to 60 s, holding a subscription open past close()).
 */
function executor(client: NWCClient): Execute {
  const execute = (client as unknown as { executeNip47Request?: Execute }).executeNip47Request;
  if (typeof execute === 'function') return execute.bind(client) as Execute;
  return (method, params) => {
    const name = PUBLIC_METHODS[method];
    const publicMethod = name === undefined ? undefined : client[name];
    if (typeof publicMethod !== 'function') {
      return Promise.reject(new WalletUnsupportedError(`NWC: ${method} is not supported`));
    }
    return (publicMethod as (params: unknown) => Promise<unknown>).call(client, params);
  };
}

/** Checks the connection URL without ever repeating it (it holds the secret). */
function parseConnectionUrl(url: string): {
  walletPubkey: string;
  relays: string[];
  secret: string;
} {
  const scheme =
    typeof url === 'string'
      ? /^(?:nostr\+walletconnect|nostrwalletconnect):(?:\/\/)?/i.exec(url)
      : null;
  if (scheme === null) {
    throw new WalletConfigError('NWC: the connection URL must start with nostr+walletconnect://');
  }
  let parsed: URL;
  try {
    parsed = new URL(`http://${url.slice(scheme[0].length)}`);
  } catch {
    throw new WalletConfigError('NWC: the connection URL is not valid');
  }
  const walletPubkey = parsed.hostname.toLowerCase();
  if (!HEX_64.test(walletPubkey)) {
    throw new WalletConfigError('NWC: the wallet public key in the URL must be 64 hex characters');
  }
  const relays = parsed.searchParams.getAll('relay');
  if (relays.length === 0) throw new WalletConfigError('NWC: the connection URL names no relay');
  for (const relay of relays) {
    if (!/^wss?:\/\/[^/]/i.test(relay) || !URL.canParse(relay)) {
      throw new WalletConfigError('NWC: every relay must be a ws:// or wss:// URL');
    }
    refuseBlockedPort(new URL(relay), 'NWC relay');
  }
  const secret = parsed.searchParams.get('secret') ?? '';
  if (!HEX_64.test(secret)) {
    throw new WalletConfigError(
      `NWC connection to ${walletPubkey.slice(0, 12)}: the secret is missing or not 64 hex characters`,
    );
  }
  return { walletPubkey, relays, secret: secret.toLowerCase() };
}

/** Reads a NIP-47 transaction as the status of an outgoing payment. */
function transactionStatus(result: unknown): PaymentStatus {
  if (!isRecord(result) || result['type'] === 'incoming') return { state: 'unknown' };
  const preimage = parseHash(result['preimage']);
  const settled = { state: 'succeeded' as const, feeMsat: parseMsat(result['fees_paid']) ?? 0n };
  switch (result['state']) {
    case 'settled':
      return preimage === undefined ? { state: 'pending' } : { ...settled, preimage };
    case 'failed':
      return { state: 'failed' };
    case 'pending':
    case 'accepted':
      return { state: 'pending' };
    default:
      // Wallets from before NIP-47 had `state` only tell settled_at and the preimage.
      return preimage !== undefined && typeof result['settled_at'] === 'number'
        ? { ...settled, preimage }
        : { state: 'pending' };
  }
}

/** NIP-47 get_budget: msat amounts; `{}` when the connection has no budget. */
function walletBudget(result: unknown): WalletBudget | undefined {
  if (!isRecord(result)) return undefined;
  const totalMsat = parseMsat(result['total_budget']);
  if (totalMsat === undefined) return undefined;
  const renewsAt = result['renews_at'];
  const renewalPeriod = result['renewal_period'];
  return {
    usedMsat: parseMsat(result['used_budget']) ?? 0n,
    totalMsat,
    ...(typeof renewsAt === 'number' ? { renewsAt: new Date(renewsAt * 1000) } : {}),
    ...(typeof renewalPeriod === 'string' ? { renewalPeriod } : {}),
  };
}
