import {
  type CreatedInvoice,
  type CreateInvoiceRequest,
  InsufficientBalanceError,
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
  unknownOutcome,
} from './http-json.js';
import { base64ToHex, isRecord, parseHash, parseMsat, requireHash } from './parse-fields.js';

export interface LndWalletOptions {
  /** LND's REST address, e.g. `https://127.0.0.1:8080`. */
  url: string;
  /** The macaroon as hex (`xxd -p -c 1000 admin.macaroon`); sent as `Grpc-Metadata-macaroon`. */
  macaroonHex: string;
  /** LND's `tls.cert` (PEM text) when it is self-signed. */
  tlsCert?: string;
  /** Timeout for balance, invoice and lookup calls; payments use the caller's timeout. */
  timeoutMs?: number;
}

export interface LndWallet extends Wallet {
  getBalance(): Promise<{ balanceMsat: Msat }>;
  createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice>;
  lookupPayment(paymentHash: string): Promise<PaymentStatus>;
  close(): Promise<void>;
}

const MACAROON_HEX = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * A wallet backed by LND's REST API: pays with `POST /v2/router/send` (always with a fee limit
 * and a timeout) and reads its streamed status updates until a final one.
 */
export function createLndWallet(options: LndWalletOptions): LndWallet {
  const { url, host } = backendUrl(options.url, 'LND');
  if (typeof options.macaroonHex !== 'string' || !MACAROON_HEX.test(options.macaroonHex)) {
    throw new WalletConfigError(`LND at ${host}: macaroonHex must be the macaroon as hex`);
  }
  const backend = new HttpBackend({
    name: `LND at ${host}`,
    url,
    headers: { 'Grpc-Metadata-macaroon': options.macaroonHex },
    secrets: [options.macaroonHex],
    tlsCertificate: options.tlsCert,
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return {
    name: `lnd:${host}`,

    async payInvoice(request: PayInvoiceRequest): Promise<PayInvoiceResult> {
      const stakes = payStakes(request);
      const answer = await backend.send({
        method: 'POST',
        path: '/v2/router/send',
        json: {
          payment_request: request.invoice,
          timeout_seconds: backendPaymentSeconds(request.timeoutMs),
          fee_limit_msat: request.maxFeeMsat.toString(),
          no_inflight_updates: false,
        },
        timeoutMs: request.timeoutMs,
        signal: request.signal,
        stakes,
      });
      if (!answer.ok) throw refusedPayment(backend, answer.status, await answer.json(), stakes);

      let started = false;
      try {
        for await (const line of answer.lines()) {
          if (!isRecord(line)) continue;
          if (line['error'] !== undefined) {
            // An error after LND began the payment says nothing about the HTLCs in flight.
            if (started)
              throw unknownOutcome(backend, `stream error: ${backend.describe(line)}`, stakes);
            throw refusedPayment(backend, answer.status, line, stakes);
          }
          const payment = line['result'];
          if (!isRecord(payment)) continue;
          started = true;
          const status = readPayment(payment);
          if (status.state === 'succeeded') {
            return { preimage: status.preimage, feeMsat: status.feeMsat };
          }
          if (status.state === 'failed') throw failedPayment(backend, payment, stakes);
        }
      } finally {
        await answer.cancel();
      }
      throw unknownOutcome(backend, 'the status stream ended before a final status', stakes);
    },

    async getBalance() {
      const answer = await backend.send({
        method: 'GET',
        path: '/v1/balance/channels',
        timeoutMs,
        stakes: { kind: 'read' },
      });
      if (!answer.ok) throw await refusedRead(backend, answer, 'balance', isMacaroonError);
      const body = await answer.json();
      const local = isRecord(body) ? body['local_balance'] : undefined;
      const balanceMsat = isRecord(local) ? parseMsat(local['msat']) : undefined;
      if (balanceMsat === undefined) {
        throw new RequestFailedError(`${backend.name}: balance answer has no local_balance.msat`);
      }
      return { balanceMsat };
    },

    async createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice> {
      const answer = await backend.send({
        method: 'POST',
        path: '/v1/invoices',
        json: {
          value_msat: request.amountMsat.toString(),
          memo: request.description ?? '',
          ...(request.expirySeconds === undefined ? {} : { expiry: String(request.expirySeconds) }),
        },
        timeoutMs,
        stakes: { kind: 'read' },
      });
      if (!answer.ok) throw await refusedRead(backend, answer, 'invoice', isMacaroonError);
      const body = await answer.json();
      const invoice = isRecord(body) ? body['payment_request'] : undefined;
      const paymentHash = isRecord(body) ? base64ToHex(body['r_hash']) : undefined;
      if (typeof invoice !== 'string' || paymentHash === undefined) {
        throw new RequestFailedError(
          `${backend.name}: invoice answer lacks payment_request or r_hash`,
        );
      }
      return { invoice, paymentHash };
    },

    async lookupPayment(paymentHash: string): Promise<PaymentStatus> {
      const hash = requireHash(paymentHash);
      // TrackPaymentV2 streams; its first message is the payment's current state.
      let answer: HttpAnswer;
      try {
        answer = await backend.send({
          method: 'GET',
          path: `/v2/router/track/${Buffer.from(hash, 'hex').toString('base64url')}`,
          query: { no_inflight_updates: 'false' },
          timeoutMs,
          stakes: { kind: 'read' },
        });
      } catch {
        return { state: 'unknown' };
      }
      try {
        if (!answer.ok) {
          const body = await answer.json().catch(() => undefined);
          if (answer.status === 404 || /not initiated|not found/i.test(backend.describe(body))) {
            return { state: 'unknown' };
          }
          throw lookupRefused(backend, answer.status, body);
        }
        for await (const line of answer.lines()) {
          if (!isRecord(line)) continue;
          if (line['error'] !== undefined) {
            if (/not initiated|not found/i.test(backend.describe(line)))
              return { state: 'unknown' };
            throw lookupRefused(backend, answer.status, line);
          }
          const payment = line['result'];
          if (isRecord(payment)) return readPayment(payment);
        }
        return { state: 'unknown' };
      } catch (error) {
        if (error instanceof RequestFailedError || error instanceof WalletUnauthorizedError)
          throw error;
        return { state: 'unknown' };
      } finally {
        await answer.cancel();
      }
    },

    close: () => backend.close(),
  };
}

/** Reads an lnrpc.Payment; `preimage` and `fee_msat` are only trusted on SUCCEEDED. */
function readPayment(payment: Record<string, unknown>): PaymentStatus {
  const status = payment['status'];
  if (status === 'SUCCEEDED') {
    const preimage = parseHash(payment['payment_preimage']);
    const feeMsat = parseMsat(payment['fee_msat']) ?? (parseMsat(payment['fee_sat']) ?? 0n) * 1000n;
    // A success without a usable preimage cannot be proven; treat it as not known yet.
    return preimage === undefined
      ? { state: 'pending' }
      : { state: 'succeeded', preimage, feeMsat };
  }
  if (status === 'FAILED') {
    return { state: 'failed', reason: String(payment['failure_reason'] ?? 'FAILURE_REASON_ERROR') };
  }
  return { state: 'pending' };
}

function failedPayment(
  backend: HttpBackend,
  payment: Record<string, unknown>,
  stakes: PayStakes,
): L402Error {
  const reason = String(payment['failure_reason'] ?? 'FAILURE_REASON_ERROR');
  const details = { paymentHash: stakes.paymentHash };
  const message = `${backend.name}: payment failed (${reason})`;
  if (reason === 'FAILURE_REASON_NO_ROUTE') return new NoRouteError(message, details);
  if (reason === 'FAILURE_REASON_INSUFFICIENT_BALANCE') {
    return new InsufficientBalanceError(message, details);
  }
  return new PaymentFailedError(message, details);
}

function isMacaroonError(body: unknown): boolean {
  const message = isRecord(body)
    ? (isRecord(body['error']) ? body['error'] : body)['message']
    : body;
  return /verification failed|macaroon|permission denied/i.test(String(message ?? ''));
}

/** LND refused the request before reporting any status: nothing was sent, with one exception. */
function refusedPayment(
  backend: HttpBackend,
  status: number,
  body: unknown,
  stakes: PayStakes,
): L402Error {
  const error = isRecord(body) && isRecord(body['error']) ? body['error'] : body;
  const said = backend.describe(error);
  const details = { paymentHash: stakes.paymentHash };
  if (!isRecord(error) || typeof error['message'] !== 'string') {
    // Not LND's own error shape (a proxy in between?): the request may have reached LND.
    return unknownOutcome(backend, `HTTP ${status} without an LND error: ${said}`, stakes);
  }
  if (/in transition|in flight/i.test(said)) {
    return unknownOutcome(backend, `a payment to this hash is already in flight (${said})`, stakes);
  }
  if (/already paid/i.test(said))
    return new InvoiceAlreadyPaidError(`${backend.name}: ${said}`, details);
  if (status === 401 || status === 403 || isMacaroonError(error)) {
    return new WalletUnauthorizedError(`${backend.name} refused the macaroon: ${said}`, details);
  }
  return new PaymentFailedError(`${backend.name} refused the payment: ${said}`, details);
}

function lookupRefused(backend: HttpBackend, status: number, body: unknown): L402Error {
  const said = backend.describe(isRecord(body) && isRecord(body['error']) ? body['error'] : body);
  if (status === 401 || status === 403 || isMacaroonError(body)) {
    return new WalletUnauthorizedError(`${backend.name} refused the macaroon: ${said}`);
  }
  return new RequestFailedError(
    `${backend.name}: payment lookup failed with HTTP ${status}: ${said}`,
  );
}
