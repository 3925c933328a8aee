import {
  type CreatedInvoice,
  type CreateInvoiceRequest,
  type FeeLimit,
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
  WalletUnsupportedError,
} from '@l402kit/core';
import { backendUrl, DEFAULT_TIMEOUT_MS } from './backend-url.js';
import {
  type HttpAnswer,
  HttpBackend,
  type PayStakes,
  payStakes,
  refusedRead,
  unknownOutcome,
} from './http-json.js';
import { isRecord, parseHash, parseMsat, requireHash } from './parse-fields.js';
import { PHOENIXD_WORST_CASE_FEE, worstCaseFeeFor } from './worst-case-fee.js';

export interface PhoenixdWalletOptions {
  /** phoenixd's HTTP API, `http://127.0.0.1:9740` by default in phoenix.conf. */
  url: string;
  /** `http-password` from phoenix.conf (the limited-access password cannot pay). */
  password: string;
  /** Timeout for balance, invoice and lookup calls; payments use the caller's timeout. */
  timeoutMs?: number;
  /**
   * The most phoenixd may charge in fees, reserved in the budget before paying. Default
   * `PHOENIXD_WORST_CASE_FEE`, 4 sat + 0.4 %: change it only if ACINQ changes its fee.
   */
  worstCaseFee?: FeeLimit;
}

export interface PhoenixdWallet extends Wallet {
  getBalance(): Promise<{ balanceMsat: Msat }>;
  createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice>;
  lookupPayment(paymentHash: string): Promise<PaymentStatus>;
  worstCaseFeeMsat(amountMsat: Msat): Msat;
  close(): Promise<void>;
}

/**
 * A wallet backed by phoenixd. A failed payment is an HTTP 200 with a `reason`, not an error
 * status. phoenixd's API takes no fee limit (ACINQ's LSP sets the fee: 4 sat + 0.4 %), so the
 * wallet declares that worst case for core to reserve. Its `routingFeeSat` is truncated to
 * whole sats, so the exact fee is read from the payment record; when that fails the fee is
 * rounded up, never down (to the worst case at most, which it cannot exceed).
 */
export function createPhoenixdWallet(options: PhoenixdWalletOptions): PhoenixdWallet {
  const { url, host } = backendUrl(options.url, 'phoenixd');
  if (typeof options.password !== 'string' || options.password.length === 0) {
    throw new WalletConfigError(`phoenixd at ${host}: the http-password is required`);
  }
  const basic = Buffer.from(`:${options.password}`).toString('base64');
  const backend = new HttpBackend({
    name: `phoenixd at ${host}`,
    url,
    headers: { authorization: `Basic ${basic}` },
    secrets: [options.password, basic],
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const worstCaseFeeMsat = worstCaseFeeFor(
    options.worstCaseFee ?? PHOENIXD_WORST_CASE_FEE,
    `phoenixd at ${host}`,
  );

  const outgoing = (paymentHash: string, timeout: number, signal?: AbortSignal) =>
    backend.send({
      method: 'GET',
      path: `/payments/outgoingbyhash/${paymentHash}`,
      timeoutMs: timeout,
      signal,
      stakes: { kind: 'read' },
    });

  return {
    name: `phoenixd:${host}`,
    worstCaseFeeMsat,

    async payInvoice(request: PayInvoiceRequest): Promise<PayInvoiceResult> {
      const stakes = payStakes(request);
      const deadline = Date.now() + request.timeoutMs;
      const answer = await backend.send({
        method: 'POST',
        path: '/payinvoice',
        form: { invoice: request.invoice },
        timeoutMs: request.timeoutMs,
        signal: request.signal,
        stakes,
      });
      if (!answer.ok) throw await refusedPayment(backend, answer, stakes);
      const body = await answer.json();
      if (!isRecord(body)) throw unknownOutcome(backend, 'the pay answer is not JSON', stakes);
      if (typeof body['reason'] === 'string') throw failedPayment(backend, body['reason'], stakes);

      const preimage = parseHash(body['paymentPreimage']);
      const truncatedFee = parseMsat(body['routingFeeSat']);
      if (preimage === undefined || truncatedFee === undefined) {
        throw unknownOutcome(backend, 'the pay answer has neither a preimage nor a reason', stakes);
      }
      // Up to 999 msat may have been cut off; take the exact fee from the record when we can.
      let feeMsat = roundedUpFee(truncatedFee, worstCaseFeeMsat(request.amountMsat));
      try {
        const record = await outgoing(request.paymentHash, Math.max(1, deadline - Date.now()));
        const status = record.ok ? outgoingStatus(await record.json()) : undefined;
        if (status?.state === 'succeeded') feeMsat = status.feeMsat;
      } catch {
        // Keep the rounded-up fee: the payment itself succeeded.
      }
      return { preimage, feeMsat };
    },

    async getBalance() {
      const answer = await backend.send({
        method: 'GET',
        path: '/getbalance',
        timeoutMs,
        stakes: { kind: 'read' },
      });
      if (!answer.ok) throw await refusedRead(backend, answer, 'balance');
      const body = await answer.json();
      const balanceSat = isRecord(body) ? parseMsat(body['balanceSat']) : undefined;
      if (balanceSat === undefined) {
        throw new RequestFailedError(`${backend.name}: balance answer has no balanceSat`);
      }
      return { balanceMsat: balanceSat * 1000n };
    },

    async createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice> {
      if (request.amountMsat % 1000n !== 0n) {
        throw new WalletUnsupportedError(`${backend.name}: phoenixd invoices are in whole sats`);
      }
      const answer = await backend.send({
        method: 'POST',
        path: '/createinvoice',
        form: {
          description: request.description ?? '',
          amountSat: (request.amountMsat / 1000n).toString(),
          ...(request.expirySeconds === undefined
            ? {}
            : { expirySeconds: String(request.expirySeconds) }),
        },
        timeoutMs,
        stakes: { kind: 'read' },
      });
      if (!answer.ok) throw await refusedRead(backend, answer, 'invoice');
      const body = await answer.json();
      const invoice = isRecord(body) ? body['serialized'] : undefined;
      const paymentHash = isRecord(body) ? parseHash(body['paymentHash']) : undefined;
      if (typeof invoice !== 'string' || paymentHash === undefined) {
        throw new RequestFailedError(
          `${backend.name}: invoice answer lacks serialized or paymentHash`,
        );
      }
      return { invoice, paymentHash };
    },

    async lookupPayment(paymentHash: string): Promise<PaymentStatus> {
      const hash = requireHash(paymentHash);
      let answer: HttpAnswer;
      let body: unknown;
      try {
        answer = await outgoing(hash, timeoutMs);
        body = await answer.json();
      } catch {
        return { state: 'unknown' };
      }
      // phoenixd answers 404 both for an unknown payment and an unknown endpoint.
      if (answer.status === 404) return { state: 'unknown' };
      if (!answer.ok) throw await refusedRead(backend, answer, 'payment lookup');
      return outgoingStatus(body);
    },

    close: () => backend.close(),
  };
}

/** Reads an `outgoing_payment`: a preimage means sent; completed without one means failed. */
function outgoingStatus(body: unknown): PaymentStatus {
  if (!isRecord(body)) return { state: 'unknown' };
  const preimage = parseHash(body['preimage']);
  if (preimage !== undefined) {
    return { state: 'succeeded', preimage, feeMsat: parseMsat(body['fees']) ?? 0n };
  }
  if (body['completedAt'] !== undefined && body['completedAt'] !== null) return { state: 'failed' };
  return { state: 'pending' };
}

function failedPayment(backend: HttpBackend, reason: string, stakes: PayStakes): L402Error {
  const message = `${backend.name}: payment failed (${backend.describe(reason)})`;
  const details = { paymentHash: stakes.paymentHash };
  // A payment to this hash already running may still succeed.
  if (/in ?progress/i.test(reason))
    return unknownOutcome(backend, `phoenixd said: ${reason}`, stakes);
  if (/insufficient|not ?enough/i.test(reason)) {
    return new InsufficientBalanceError(message, details);
  }
  if (/already (?:been )?paid|alreadypaid/i.test(reason)) {
    return new InvoiceAlreadyPaidError(message, details);
  }
  if (/unreachable|no ?route/i.test(reason)) return new NoRouteError(message, details);
  return new PaymentFailedError(message, details);
}

async function refusedPayment(
  backend: HttpBackend,
  answer: HttpAnswer,
  stakes: PayStakes,
): Promise<L402Error> {
  const said = backend.describe(await answer.text().catch(() => ''));
  const details = { paymentHash: stakes.paymentHash };
  const message = `${backend.name} refused the payment (HTTP ${answer.status}): ${said}`;
  if (answer.status === 401 || answer.status === 403)
    return new WalletUnauthorizedError(message, details);
  // Refused as a bad request, unknown endpoint or wrong method: phoenixd never started paying.
  if (answer.status === 400 || answer.status === 404 || answer.status === 405) {
    return new PaymentFailedError(message, details);
  }
  return unknownOutcome(backend, `HTTP ${answer.status} from the pay call (${said})`, stakes);
}

/**
 * The fee from phoenixd's whole-sat `routingFeeSat`, rounded up: the truncated part is at most
 * 999 msat, and the fee is never above phoenixd's worst case, so the smaller bound is taken.
 */
function roundedUpFee(truncatedSat: Msat, worstCaseMsat: Msat): Msat {
  const upper = truncatedSat * 1000n + 999n;
  return worstCaseMsat >= truncatedSat * 1000n && worstCaseMsat < upper ? worstCaseMsat : upper;
}
