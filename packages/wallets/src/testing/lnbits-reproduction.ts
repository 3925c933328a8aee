import type { ServerResponse } from 'node:http';
import {
  InsufficientBalanceError,
  InvoiceAlreadyPaidError,
  type Msat,
  PaymentOutcomeUnknownError,
  type Wallet,
} from '@l402kit/core';
import { BackingWallet } from './backing-wallet.js';
import {
  exchangeSignal,
  jsonBody,
  type LoopbackServer,
  type RecordedRequest,
  sendJson,
  startLoopbackServer,
} from './loopback-server.js';

export interface LnbitsReproductionOptions {
  /** The wallet that really pays (a sandbox node's wallet). */
  wallet: Wallet;
  adminKey: string;
  invoiceKey: string;
  /**
   * How long the funding source waits for a payment in flight before LNbits answers it as
   * `pending` (HTTP 201); as long as the exchange lasts by default.
   */
  pendingAfterMs?: number;
  /**
   * The fee reserve LNbits hands its funding source as the fee limit. Default LNbits' default
   * reserve, max(2 sat, 1 %) (`LNBITS_RESERVE_FEE_MIN` / `LNBITS_RESERVE_FEE_PERCENT`).
   */
  feeReserveMsat?: (amountMsat: Msat) => Msat;
}

export interface LnbitsReproduction extends LoopbackServer {
  /** While true, paying keeps the request open and never answers. */
  hangPayments: boolean;
  backing: BackingWallet;
}

/**
 * A loopback reproduction of LNbits' wallet API (LNbits 1.x `payment_api.py` and
 * `wallet_api.py`): `X-Api-Key`, `POST /api/v1/payments` (`out` defaults to true; paying needs
 * the admin key; LNbits' PaymentError is HTTP 520 with `{detail}`), `GET /api/v1/payments/{hash}`
 * (`{paid, status, preimage, details}` with negative msat amount and fee for outgoing) and
 * `GET /api/v1/wallet` (`balance` in msat). Fees are capped by LNbits' default fee reserve,
 * max(2 sat, 1%), the limit LNbits hands to its funding source.
 */
export async function startLnbitsReproduction(
  options: LnbitsReproductionOptions,
): Promise<LnbitsReproduction> {
  const backing = new BackingWallet(options.wallet);
  const incoming = new Map<string, { invoice: string; amountMsat: Msat; memo: string }>();
  let reproduction: LnbitsReproduction | undefined;
  const server = await startLoopbackServer((request, response) =>
    handle(request, response, options, backing, incoming, reproduction?.hangPayments === true),
  );
  reproduction = Object.assign(server, { backing, hangPayments: false });
  return reproduction;
}

function defaultFeeReserve(amountMsat: Msat): Msat {
  const percent = (amountMsat + 99n) / 100n;
  return percent > 2_000n ? percent : 2_000n;
}

async function handle(
  request: RecordedRequest,
  response: ServerResponse,
  options: LnbitsReproductionOptions,
  backing: BackingWallet,
  incoming: Map<string, { invoice: string; amountMsat: Msat; memo: string }>,
  hang: boolean,
): Promise<void> {
  const feeReserve = options.feeReserveMsat ?? defaultFeeReserve;
  const key = request.headers['x-api-key'];
  const admin = key === options.adminKey;
  const route = `${request.method} ${request.path}`;
  // GET /api/v1/payments/{hash} works without a key but then leaves out `details`.
  const lookup =
    request.method === 'GET' && /^\/api\/v1\/payments\/[0-9a-f]{64}$/i.test(request.path);
  if (!admin && key !== options.invoiceKey && !(lookup && key === undefined)) {
    sendJson(response, 401, { detail: 'Invalid key or wallet.' });
    return;
  }

  if (route === 'POST /api/v1/payments') {
    const body = jsonBody(request);
    if (body === undefined) {
      sendJson(response, 422, { detail: [{ type: 'json_invalid', msg: 'JSON decode error' }] });
      return;
    }
    if (body['out'] === false) {
      const amountMsat = BigInt(Number(body['amount'] ?? 0)) * 1000n;
      const memo = String(body['memo'] ?? '');
      const expiry = body['expiry'] === undefined ? undefined : Number(body['expiry']);
      const created = await backing.createInvoice(amountMsat, memo, expiry);
      incoming.set(created.paymentHash, { invoice: created.invoice, amountMsat, memo });
      sendJson(response, 201, {
        payment_hash: created.paymentHash,
        payment_request: created.invoice,
        bolt11: created.invoice,
        checking_id: created.paymentHash,
        amount: Number(amountMsat),
        fee: 0,
        memo,
        status: 'pending',
      });
      return;
    }
    if (!admin) {
      sendJson(response, 401, { detail: 'Invoice (or Admin) key required.' });
      return;
    }
    const decoded = backing.decode(body['bolt11']);
    if (decoded === undefined) {
      sendJson(response, 400, { detail: 'BOLT11 string is invalid or not given' });
      return;
    }
    const amountMsat = decoded.amountMsat ?? 0n;
    if (hang) {
      void backing.pay(decoded, feeReserve(amountMsat));
      return;
    }
    const signal =
      options.pendingAfterMs === undefined
        ? exchangeSignal(response)
        : AbortSignal.any([exchangeSignal(response), AbortSignal.timeout(options.pendingAfterMs)]);
    const result = await backing.pay(decoded, feeReserve(amountMsat), signal);
    const record = {
      checking_id: decoded.paymentHash,
      payment_hash: decoded.paymentHash,
      amount: -Number(amountMsat),
      bolt11: decoded.invoice,
      memo: decoded.description ?? '',
    };
    if (result.ok) {
      sendJson(response, 201, { ...record, status: 'success', fee: -Number(result.feeMsat) });
    } else if (result.error instanceof PaymentOutcomeUnknownError) {
      sendJson(response, 201, { ...record, status: 'pending', fee: 0 });
    } else if (result.error instanceof InsufficientBalanceError) {
      sendJson(response, 520, { detail: 'Insufficient balance.' });
    } else if (result.error instanceof InvoiceAlreadyPaidError) {
      sendJson(response, 520, { detail: 'Invoice already paid.' });
    } else {
      sendJson(response, 520, { detail: `Payment failed: ${result.error.message}` });
    }
    return;
  }

  if (lookup) {
    const hash = request.path.slice('/api/v1/payments/'.length).toLowerCase();
    const invoice = incoming.get(hash);
    if (invoice !== undefined) {
      sendJson(response, 200, {
        paid: false,
        status: 'pending',
        preimage: null,
        ...(key === undefined
          ? {}
          : { details: { amount: Number(invoice.amountMsat), fee: 0, status: 'pending' } }),
      });
      return;
    }
    const status = await backing.lookup(hash);
    const attempt = backing.attempts.get(hash);
    if (status.state === 'unknown' || attempt === undefined) {
      sendJson(response, 404, { detail: 'Payment does not exist.' });
      return;
    }
    const lnbitsStatus = { succeeded: 'success', failed: 'failed', pending: 'pending' }[
      status.state
    ];
    sendJson(response, 200, {
      paid: status.state === 'succeeded',
      status: lnbitsStatus,
      preimage: status.state === 'succeeded' ? status.preimage : '0'.repeat(64),
      ...(key === undefined
        ? {}
        : {
            details: {
              checking_id: hash,
              payment_hash: hash,
              amount: -Number(attempt.amountMsat),
              fee: status.state === 'succeeded' ? -Number(status.feeMsat) : 0,
              bolt11: attempt.invoice,
              status: lnbitsStatus,
            },
          }),
    });
    return;
  }

  if (route === 'GET /api/v1/wallet') {
    sendJson(response, 200, {
      name: 'l402kit test wallet',
      balance: Number(await backing.balanceMsat()),
    });
    return;
  }
  sendJson(response, 404, { detail: 'Not Found' });
}
