import {
  type CreatedInvoice,
  type CreateInvoiceRequest,
  type FeeLimit,
  InsufficientBalanceError,
  InvoiceAlreadyPaidError,
  type L402Error,
  type Msat,
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
import { LNBITS_DEFAULT_FEE_RESERVE, worstCaseFeeFor } from './worst-case-fee.js';

export interface LnbitsWalletOptions {
  /** The LNbits instance, e.g. `https://legend.lnbits.com`. */
  url: string;
  /** Admin key: needed to pay. */
  adminKey?: string;
  /** Invoice/read key: enough for balance, invoices and lookups, refused for payments. */
  invoiceKey?: string;
  /** Timeout for balance, invoice and lookup calls; payments use the caller's timeout. */
  timeoutMs?: number;
  /**
   * The instance's fee reserve: the most LNbits lets its funding source spend on fees, reserved
   * in the budget before paying. Default `LNBITS_DEFAULT_FEE_RESERVE`, max(2 sat, 1 %); set it
   * to the instance's `LNBITS_RESERVE_FEE_MIN` / `_PERCENT`, plus any service fee it charges.
   */
  worstCaseFee?: FeeLimit;
}

export interface LnbitsWallet extends Wallet {
  getBalance(): Promise<{ balanceMsat: Msat }>;
  createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice>;
  lookupPayment(paymentHash: string): Promise<PaymentStatus>;
  worstCaseFeeMsat(amountMsat: Msat): Msat;
  close(): Promise<void>;
}

// How often to ask again while LNbits reports the payment pending.
const POLL_INTERVAL_MS = 250;

/**
 * A wallet backed by an LNbits wallet: `POST /api/v1/payments` with `out: true` pays (LNbits
 * answers once the payment settled or failed), then `GET /api/v1/payments/{hash}` gives the
 * preimage and the fee. LNbits' API takes no fee limit: LNbits caps routing fees with its own
 * fee reserve, which the wallet declares as its worst case for core to reserve; the fee it
 * reports is returned as is.
 */
export function createLnbitsWallet(options: LnbitsWalletOptions): LnbitsWallet {
  const { url, host } = backendUrl(options.url, 'LNbits');
  const key = options.adminKey ?? options.invoiceKey;
  if (typeof key !== 'string' || key.length === 0) {
    throw new WalletConfigError(
      `LNbits at ${host}: an adminKey (to pay) or invoiceKey is required`,
    );
  }
  const canPay = options.adminKey !== undefined;
  const worstCaseFeeMsat = worstCaseFeeFor(
    options.worstCaseFee ?? LNBITS_DEFAULT_FEE_RESERVE,
    `LNbits at ${host}`,
  );
  const backend = new HttpBackend({
    name: `LNbits at ${host}`,
    url,
    headers: { 'X-Api-Key': key },
    secrets: [key],
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const readPayment = (
    paymentHash: string,
    request: {
      timeoutMs: number;
      signal?: AbortSignal | undefined;
      stakes: PayStakes | { kind: 'read' };
    },
  ) => backend.send({ method: 'GET', path: `/api/v1/payments/${paymentHash}`, ...request });

  return {
    name: `lnbits:${host}`,
    worstCaseFeeMsat,

    async payInvoice(request: PayInvoiceRequest): Promise<PayInvoiceResult> {
      const stakes = payStakes(request);
      if (!canPay) {
        throw new WalletUnauthorizedError(
          `${backend.name}: an invoice key cannot pay; configure the admin key`,
          { paymentHash: request.paymentHash },
        );
      }
      const deadline = Date.now() + request.timeoutMs;
      const remaining = () => Math.max(1, deadline - Date.now());

      const answer = await backend.send({
        method: 'POST',
        path: '/api/v1/payments',
        json: { out: true, bolt11: request.invoice },
        timeoutMs: remaining(),
        signal: request.signal,
        stakes,
      });
      const body = await answer.json();
      if (!answer.ok) throw refusedPayment(backend, answer, body, stakes);
      if (isRecord(body) && body['status'] === 'failed') {
        throw new PaymentFailedError(`${backend.name}: payment failed`, {
          paymentHash: stakes.paymentHash,
        });
      }

      // LNbits answers the pay call without the preimage; the payment record has it.
      while (true) {
        const lookup = await readPayment(request.paymentHash, {
          timeoutMs: remaining(),
          signal: request.signal,
          stakes,
        });
        const record = await lookup.json();
        const status = lookup.ok ? paymentStatus(record) : ({ state: 'unknown' } as const);
        if (status.state === 'succeeded')
          return { preimage: status.preimage, feeMsat: status.feeMsat };
        if (status.state === 'failed') {
          throw new PaymentFailedError(`${backend.name}: payment failed`, {
            paymentHash: stakes.paymentHash,
          });
        }
        if (deadline - Date.now() <= POLL_INTERVAL_MS) {
          throw unknownOutcome(
            backend,
            `the payment was still ${status.state} at the timeout`,
            stakes,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      }
    },

    async getBalance() {
      const answer = await backend.send({
        method: 'GET',
        path: '/api/v1/wallet',
        timeoutMs,
        stakes: { kind: 'read' },
      });
      if (!answer.ok) throw await refusedRead(backend, answer, 'balance');
      const body = await answer.json();
      const balanceMsat = isRecord(body) ? parseMsat(body['balance']) : undefined;
      if (balanceMsat === undefined) {
        throw new RequestFailedError(`${backend.name}: wallet answer has no balance`);
      }
      return { balanceMsat };
    },

    async createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice> {
      if (request.amountMsat % 1000n !== 0n) {
        throw new WalletUnsupportedError(`${backend.name}: LNbits invoices are in whole sats`);
      }
      const answer = await backend.send({
        method: 'POST',
        path: '/api/v1/payments',
        json: {
          out: false,
          amount: Number(request.amountMsat / 1000n),
          unit: 'sat',
          memo: request.description ?? '',
          ...(request.expirySeconds === undefined ? {} : { expiry: request.expirySeconds }),
        },
        timeoutMs,
        stakes: { kind: 'read' },
      });
      if (!answer.ok) throw await refusedRead(backend, answer, 'invoice');
      const body = await answer.json();
      const invoice = isRecord(body) ? (body['payment_request'] ?? body['bolt11']) : undefined;
      const paymentHash = isRecord(body) ? parseHash(body['payment_hash']) : undefined;
      if (typeof invoice !== 'string' || paymentHash === undefined) {
        throw new RequestFailedError(
          `${backend.name}: invoice answer lacks payment_request or payment_hash`,
        );
      }
      return { invoice, paymentHash };
    },

    async lookupPayment(paymentHash: string): Promise<PaymentStatus> {
      const hash = requireHash(paymentHash);
      let answer: HttpAnswer;
      let body: unknown;
      try {
        answer = await readPayment(hash, { timeoutMs, stakes: { kind: 'read' } });
        body = await answer.json();
      } catch {
        return { state: 'unknown' };
      }
      if (answer.status === 404) return { state: 'unknown' };
      if (!answer.ok) throw await refusedRead(backend, answer, 'payment lookup');
      return paymentStatus(body);
    },

    close: () => backend.close(),
  };
}

/** Reads `GET /api/v1/payments/{hash}`: `{ paid, status?, preimage, details: { fee, amount } }`. */
function paymentStatus(body: unknown): PaymentStatus {
  if (!isRecord(body)) return { state: 'unknown' };
  const details = isRecord(body['details']) ? body['details'] : {};
  const amount = parseMsat(details['amount']);
  // A positive amount is an incoming invoice of this wallet, not a payment it made.
  if (amount !== undefined && amount > 0n) return { state: 'unknown' };
  const status = body['status'] ?? details['status'];
  if (status === 'failed') return { state: 'failed' };
  const preimage = parseHash(body['preimage']);
  if (body['paid'] === true && preimage !== undefined && !/^0{64}$/.test(preimage)) {
    // LNbits stores outgoing fees as negative msat.
    const fee = parseMsat(details['fee']) ?? 0n;
    return { state: 'succeeded', preimage, feeMsat: fee < 0n ? -fee : fee };
  }
  return { state: 'pending' };
}

function refusedPayment(
  backend: HttpBackend,
  answer: HttpAnswer,
  body: unknown,
  stakes: PayStakes,
): L402Error {
  const said = backend.describe(body);
  const details = { paymentHash: stakes.paymentHash };
  const message = `${backend.name} refused the payment (HTTP ${answer.status}): ${said}`;
  if (/in progress|pending/i.test(said)) {
    return unknownOutcome(
      backend,
      `LNbits says the payment is still in progress (${said})`,
      stakes,
    );
  }
  if (/insufficient balance|not enough/i.test(said))
    return new InsufficientBalanceError(message, details);
  if (/already paid/i.test(said)) return new InvoiceAlreadyPaidError(message, details);
  if (answer.status === 401 || answer.status === 403)
    return new WalletUnauthorizedError(message, details);
  // 400: the request was refused as invalid; 520: LNbits' PaymentError, raised once the payment failed.
  if (answer.status === 400 || answer.status === 520)
    return new PaymentFailedError(message, details);
  return unknownOutcome(backend, `HTTP ${answer.status} from the pay call (${said})`, stakes);
}
