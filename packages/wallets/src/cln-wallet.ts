import { randomUUID } from 'node:crypto';
import {
  type CreatedInvoice,
  type CreateInvoiceRequest,
  InvoiceAlreadyPaidError,
  type L402Error,
  type Msat,
  NoRouteError,
  type PayInvoiceRequest,
  type PayInvoiceResult,
  PaymentFailedError,
  type PaymentStatus,
  RequestFailedError,
  type Wallet,
  WalletConfigError,
  WalletUnauthorizedError,
} from '@l402kit/core';
import { backendPaymentSeconds, backendUrl, DEFAULT_TIMEOUT_MS } from './backend-url.js';
import {
  type HttpAnswer,
  HttpBackend,
  type PayStakes,
  payStakes,
  refusedRead,
  type RequestStakes,
  unknownOutcome,
} from './http-json.js';
import { isRecord, parseHash, parseMsat, requireHash } from './parse-fields.js';

export interface ClnWalletOptions {
  /** CLNRest's address, e.g. `https://127.0.0.1:3010`. */
  url: string;
  /** A rune allowing at least `pay`, `invoice`, `listfunds` and `listpays`; sent as the `Rune` header. */
  rune: string;
  /** CLNRest's CA certificate (PEM text, `ca.pem` in the network directory) when self-signed. */
  tlsCert?: string;
  /** Timeout for balance, invoice and lookup calls; payments use the caller's timeout. */
  timeoutMs?: number;
}

export interface ClnWallet extends Wallet {
  getBalance(): Promise<{ balanceMsat: Msat }>;
  createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice>;
  lookupPayment(paymentHash: string): Promise<PaymentStatus>;
  close(): Promise<void>;
}

// `pay` error codes that mean the payment ended without money leaving (lightning-pay(7)).
const PAY_FAILED_CODES = new Set([203, 206, 207, 210, -32602]);
// checkrune refusals.
const RUNE_REFUSED_CODES = new Set([1501, 1502]);

/**
 * A wallet backed by Core Lightning's CLNRest: `POST /v1/<method>` with the `Rune` header.
 * Pays with `pay` (with `maxfee` and `retry_for`), reads the balance from `listfunds` and
 * looks payments up with `listpays`.
 */
export function createClnWallet(options: ClnWalletOptions): ClnWallet {
  const { url, host } = backendUrl(options.url, 'CLNRest');
  if (typeof options.rune !== 'string' || options.rune.length === 0) {
    throw new WalletConfigError(`CLNRest at ${host}: a rune is required`);
  }
  const backend = new HttpBackend({
    name: `CLNRest at ${host}`,
    url,
    headers: { Rune: options.rune },
    secrets: [options.rune],
    tlsCertificate: options.tlsCert,
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const rpc = (
    method: string,
    params: Record<string, unknown>,
    request: { timeoutMs: number; signal?: AbortSignal | undefined; stakes: RequestStakes },
  ) => backend.send({ method: 'POST', path: `/v1/${method}`, json: params, ...request });

  const read = async (method: string, params: Record<string, unknown>) => {
    const answer = await rpc(method, params, { timeoutMs, stakes: { kind: 'read' } });
    if (!answer.ok) throw await refusedRead(backend, answer, method, isRuneRefusal);
    return answer.json();
  };

  return {
    name: `cln:${host}`,

    async payInvoice(request: PayInvoiceRequest): Promise<PayInvoiceResult> {
      const stakes = payStakes(request);
      const answer = await rpc(
        'pay',
        {
          bolt11: request.invoice,
          maxfee: msatParam(request.maxFeeMsat),
          retry_for: backendPaymentSeconds(request.timeoutMs),
        },
        { timeoutMs: request.timeoutMs, signal: request.signal, stakes },
      );
      const body = await answer.json();
      if (!answer.ok) throw refusedPayment(backend, answer, body, stakes);
      const status = payStatus(body);
      if (status.state === 'succeeded')
        return { preimage: status.preimage, feeMsat: status.feeMsat };
      if (status.state === 'failed') {
        throw new PaymentFailedError(`${backend.name}: payment failed`, {
          paymentHash: stakes.paymentHash,
        });
      }
      throw unknownOutcome(
        backend,
        `pay returned status ${String(isRecord(body) ? body['status'] : body)}`,
        stakes,
      );
    },

    async getBalance() {
      const body = await read('listfunds', {});
      const channels =
        isRecord(body) && Array.isArray(body['channels']) ? body['channels'] : undefined;
      if (channels === undefined)
        throw new RequestFailedError(`${backend.name}: listfunds has no channels`);
      let balanceMsat = 0n;
      for (const channel of channels) {
        if (!isRecord(channel) || channel['state'] !== 'CHANNELD_NORMAL') continue;
        balanceMsat += parseMsat(channel['our_amount_msat']) ?? 0n;
      }
      return { balanceMsat };
    },

    async createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice> {
      const body = await read('invoice', {
        amount_msat: msatParam(request.amountMsat),
        label: `l402kit-${randomUUID()}`,
        description: request.description ?? '',
        ...(request.expirySeconds === undefined ? {} : { expiry: request.expirySeconds }),
      });
      const invoice = isRecord(body) ? body['bolt11'] : undefined;
      const paymentHash = isRecord(body) ? parseHash(body['payment_hash']) : undefined;
      if (typeof invoice !== 'string' || paymentHash === undefined) {
        throw new RequestFailedError(
          `${backend.name}: invoice answer lacks bolt11 or payment_hash`,
        );
      }
      return { invoice, paymentHash };
    },

    async lookupPayment(paymentHash: string): Promise<PaymentStatus> {
      const hash = requireHash(paymentHash);
      let answer: HttpAnswer;
      let body: unknown;
      try {
        answer = await rpc(
          'listpays',
          { payment_hash: hash },
          { timeoutMs, stakes: { kind: 'read' } },
        );
        body = await answer.json();
      } catch {
        return { state: 'unknown' };
      }
      if (!answer.ok) throw await refusedRead(backend, answer, 'listpays', isRuneRefusal);
      const pays = isRecord(body) && Array.isArray(body['pays']) ? body['pays'] : [];
      const statuses = pays.map(payStatus);
      const succeeded = statuses.find((status) => status.state === 'succeeded');
      if (succeeded !== undefined) return succeeded;
      if (statuses.some((status) => status.state === 'pending')) return { state: 'pending' };
      if (statuses.length > 0 && statuses.every((status) => status.state === 'failed')) {
        return { state: 'failed' };
      }
      return { state: 'unknown' };
    },

    close: () => backend.close(),
  };
}

/** CLN takes msat as a JSON integer; larger than 2^53 only as a "<n>msat" string. */
function msatParam(msat: Msat): number | string {
  return msat <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(msat) : `${msat}msat`;
}

/** Reads a `pay` result or a `listpays` entry; the fee is what was sent minus what arrived. */
function payStatus(entry: unknown): PaymentStatus {
  if (!isRecord(entry)) return { state: 'unknown' };
  const status = entry['status'];
  if (status === 'complete') {
    const preimage = parseHash(entry['payment_preimage'] ?? entry['preimage']);
    const amount = parseMsat(entry['amount_msat']);
    const sent = parseMsat(entry['amount_sent_msat']);
    if (preimage === undefined) return { state: 'pending' };
    const feeMsat =
      amount !== undefined && sent !== undefined && sent > amount ? sent - amount : 0n;
    return { state: 'succeeded', preimage, feeMsat };
  }
  if (status === 'failed') return { state: 'failed' };
  if (status === 'pending') return { state: 'pending' };
  return { state: 'unknown' };
}

function isRuneRefusal(body: unknown): boolean {
  return isRecord(body) && RUNE_REFUSED_CODES.has(Number(body['code']));
}

function refusedPayment(
  backend: HttpBackend,
  answer: HttpAnswer,
  body: unknown,
  stakes: PayStakes,
): L402Error {
  const said = backend.describe(body);
  const details = { paymentHash: stakes.paymentHash };
  const code = isRecord(body) ? Number(body['code']) : Number.NaN;
  const message = `${backend.name}: pay failed (code ${Number.isNaN(code) ? 'none' : code}): ${said}`;
  if (answer.status === 401 || answer.status === 403 || RUNE_REFUSED_CODES.has(code)) {
    return new WalletUnauthorizedError(`${backend.name} refused the rune: ${said}`, details);
  }
  if (code === 201) return new InvoiceAlreadyPaidError(message, details);
  if (code === 205) return new NoRouteError(message, details);
  if (PAY_FAILED_CODES.has(code)) return new PaymentFailedError(message, details);
  // Other codes (-1, 204, ...) or no CLN error at all: parts may still be in flight.
  return unknownOutcome(backend, `pay ended without a clear outcome (${message})`, stakes);
}
