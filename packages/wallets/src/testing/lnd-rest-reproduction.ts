import type { ServerResponse } from 'node:http';
import {
  InsufficientBalanceError,
  InvoiceAlreadyPaidError,
  type Msat,
  NoRouteError,
  PaymentOutcomeUnknownError,
  type Wallet,
} from '@l402kit/core';
import { BackingWallet } from './backing-wallet.js';
import {
  jsonBody,
  type LoopbackServer,
  exchangeSignal,
  type RecordedRequest,
  sendJson,
  startLoopbackServer,
} from './loopback-server.js';

export interface LndRestReproductionOptions {
  /** The wallet that really pays (a sandbox node's wallet). */
  wallet: Wallet;
  /** The macaroon (hex) the server accepts in `Grpc-Metadata-macaroon`. */
  macaroonHex: string;
  /** Serve https with this key and certificate, as LND does with its tls.cert. */
  tls?: { key: string; cert: string };
}

export interface LndRestReproduction extends LoopbackServer {
  /** While true, /v2/router/send streams IN_FLIGHT, pays, and never sends the final update. */
  hangPayments: boolean;
  backing: BackingWallet;
}

/**
 * A loopback reproduction of LND's REST API (lnd v0.18 router/lightning REST docs), backed by
 * a real wallet: `POST /v2/router/send` (newline-delimited `{"result": Payment}` updates),
 * `GET /v2/router/track/{payment_hash}` (base64url path), `GET /v1/balance/channels`,
 * `POST /v1/invoices`. Errors use grpc-gateway's `{code, message, details}` shape; a wrong
 * macaroon is LND's HTTP 500 "verification failed".
 */
export async function startLndRestReproduction(
  options: LndRestReproductionOptions,
): Promise<LndRestReproduction> {
  const backing = new BackingWallet(options.wallet);
  let reproduction: LndRestReproduction | undefined;
  const server = await startLoopbackServer(
    (request, response) =>
      handle(request, response, options, backing, reproduction?.hangPayments === true),
    options.tls === undefined ? {} : { tls: options.tls },
  );
  reproduction = Object.assign(server, { backing, hangPayments: false });
  return reproduction;
}

function grpcError(response: ServerResponse, status: number, code: number, message: string): void {
  sendJson(response, status, { code, message, details: [] });
}

async function handle(
  request: RecordedRequest,
  response: ServerResponse,
  options: LndRestReproductionOptions,
  backing: BackingWallet,
  hang: boolean,
): Promise<void> {
  const macaroon = request.headers['grpc-metadata-macaroon'];
  if (typeof macaroon !== 'string') {
    grpcError(response, 500, 2, 'expected 1 macaroon, got 0');
    return;
  }
  if (macaroon.toLowerCase() !== options.macaroonHex.toLowerCase()) {
    grpcError(
      response,
      500,
      2,
      'verification failed: signature mismatch after caveat verification',
    );
    return;
  }
  const route = `${request.method} ${request.path}`;
  if (route === 'POST /v2/router/send') return send(request, response, backing, hang);
  if (request.method === 'GET' && request.path.startsWith('/v2/router/track/')) {
    return track(request, response, backing);
  }
  if (route === 'GET /v1/balance/channels') {
    const msat = await backing.balanceMsat();
    sendJson(response, 200, {
      balance: (msat / 1000n).toString(),
      pending_open_balance: '0',
      local_balance: { sat: (msat / 1000n).toString(), msat: msat.toString() },
      remote_balance: { sat: '0', msat: '0' },
      unsettled_local_balance: { sat: '0', msat: '0' },
      unsettled_remote_balance: { sat: '0', msat: '0' },
      pending_open_local_balance: { sat: '0', msat: '0' },
      pending_open_remote_balance: { sat: '0', msat: '0' },
    });
    return;
  }
  if (route === 'POST /v1/invoices') {
    const body = jsonBody(request) ?? {};
    const valueMsat =
      BigInt(String(body['value_msat'] ?? '0')) || BigInt(String(body['value'] ?? '0')) * 1000n;
    const expiry = body['expiry'] === undefined ? undefined : Number(body['expiry']);
    const created = await backing.createInvoice(valueMsat, String(body['memo'] ?? ''), expiry);
    sendJson(response, 200, {
      r_hash: Buffer.from(created.paymentHash, 'hex').toString('base64'),
      payment_request: created.invoice,
      add_index: '1',
      payment_addr: Buffer.alloc(32).toString('base64'),
    });
    return;
  }
  grpcError(response, 404, 5, 'Not Found');
}

async function send(
  request: RecordedRequest,
  response: ServerResponse,
  backing: BackingWallet,
  hang: boolean,
): Promise<void> {
  const body = jsonBody(request);
  const decoded = backing.decode(body?.['payment_request']);
  if (body === undefined || decoded === undefined) {
    grpcError(response, 500, 2, 'invalid payment request: unable to decode');
    return;
  }
  const timeoutSeconds = Number(body['timeout_seconds'] ?? 0);
  if (!(timeoutSeconds > 0)) {
    grpcError(response, 500, 2, 'timeout_seconds must be specified');
    return;
  }
  // LND: with neither fee limit set, only zero-fee routes are allowed.
  const feeLimitMsat: Msat =
    body['fee_limit_msat'] !== undefined
      ? BigInt(String(body['fee_limit_msat']))
      : BigInt(String(body['fee_limit_sat'] ?? '0')) * 1000n;
  const inflightUpdates = body['no_inflight_updates'] !== true;
  const amountMsat = decoded.amountMsat ?? 0n;
  const payment = (status: string, extra: Record<string, unknown> = {}) => ({
    result: {
      payment_hash: decoded.paymentHash,
      value: (amountMsat / 1000n).toString(),
      value_sat: (amountMsat / 1000n).toString(),
      value_msat: amountMsat.toString(),
      payment_request: decoded.invoice,
      status,
      fee: '0',
      fee_sat: '0',
      fee_msat: '0',
      payment_preimage: '',
      creation_time_ns: (BigInt(Date.now()) * 1_000_000n).toString(),
      htlcs: [],
      payment_index: String(backing.attempts.size),
      failure_reason: 'FAILURE_REASON_NONE',
      ...extra,
    },
  });
  const streamLine = (value: unknown) => response.write(`${JSON.stringify(value)}\n`);
  const startStream = () => {
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (inflightUpdates) streamLine(payment('IN_FLIGHT'));
  };

  if (hang) {
    startStream();
    void backing.pay(decoded, feeLimitMsat);
    return; // the final update never comes
  }
  const result = await backing.pay(decoded, feeLimitMsat, exchangeSignal(response));
  if (!result.ok && result.error instanceof InvoiceAlreadyPaidError) {
    // SendPaymentV2 refuses before streaming: codes.AlreadyExists.
    sendJson(response, 409, {
      error: { code: 6, message: 'invoice is already paid', details: [] },
    });
    return;
  }
  startStream();
  if (result.ok) {
    streamLine(
      payment('SUCCEEDED', {
        payment_preimage: result.preimage,
        fee: (result.feeMsat / 1000n).toString(),
        fee_sat: (result.feeMsat / 1000n).toString(),
        fee_msat: result.feeMsat.toString(),
      }),
    );
  } else if (result.error instanceof PaymentOutcomeUnknownError) {
    return; // still in flight: LND keeps the stream open
  } else {
    const reason =
      result.error instanceof NoRouteError
        ? 'FAILURE_REASON_NO_ROUTE'
        : result.error instanceof InsufficientBalanceError
          ? 'FAILURE_REASON_INSUFFICIENT_BALANCE'
          : 'FAILURE_REASON_ERROR';
    streamLine(payment('FAILED', { failure_reason: reason }));
  }
  response.end();
}

async function track(
  request: RecordedRequest,
  response: ServerResponse,
  backing: BackingWallet,
): Promise<void> {
  const encoded = request.path.slice('/v2/router/track/'.length);
  const hash = Buffer.from(decodeURIComponent(encoded), 'base64url').toString('hex');
  if (hash.length !== 64) {
    grpcError(response, 400, 3, 'type mismatch, parameter: payment_hash');
    return;
  }
  const status = await backing.lookup(hash);
  if (status.state === 'unknown') {
    sendJson(response, 404, {
      error: { code: 5, message: "payment isn't initiated", details: [] },
    });
    return;
  }
  const attempt = backing.attempts.get(hash);
  const amountMsat = attempt?.amountMsat ?? 0n;
  const feeMsat = status.state === 'succeeded' ? status.feeMsat : 0n;
  const lndStatus = { succeeded: 'SUCCEEDED', failed: 'FAILED', pending: 'IN_FLIGHT' }[
    status.state
  ];
  response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  response.write(
    `${JSON.stringify({
      result: {
        payment_hash: hash,
        value_msat: amountMsat.toString(),
        payment_request: attempt?.invoice ?? '',
        status: lndStatus,
        fee_msat: feeMsat.toString(),
        fee_sat: (feeMsat / 1000n).toString(),
        payment_preimage: status.state === 'succeeded' ? status.preimage : '',
        failure_reason: status.state === 'failed' ? 'FAILURE_REASON_ERROR' : 'FAILURE_REASON_NONE',
        htlcs: [],
      },
    })}\n`,
  );
  // TrackPaymentV2 keeps streaming until the payment is final.
  if (status.state !== 'pending') response.end();
}
