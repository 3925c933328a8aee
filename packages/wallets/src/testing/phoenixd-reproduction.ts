import { randomUUID } from 'node:crypto';
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
  exchangeSignal,
  type LoopbackServer,
  type RecordedRequest,
  sendJson,
  sendText,
  startLoopbackServer,
} from './loopback-server.js';

export interface PhoenixdReproductionOptions {
  /** The wallet that really pays (a sandbox node's wallet). */
  wallet: Wallet;
  /** `http-password`: every endpoint. */
  password: string;
  /** `http-password-limited-access`: everything but paying. */
  limitedPassword?: string;
  /**
   * The most the backing wallet may spend on fees for one payment, whatever the client asked.
   * Default phoenixd's rule, 4 sat + 0.4 % (its LSP's trampoline fee).
   */
  maxFeeMsat?: (amountMsat: Msat) => Msat;
}

export interface PhoenixdReproduction extends LoopbackServer {
  /** While true, /payinvoice pays and never answers. */
  hangPayments: boolean;
  /** While true, /payments/outgoingbyhash answers 404, as for a payment phoenixd does not know. */
  hideRecords: boolean;
  backing: BackingWallet;
}

// phoenixd pays through ACINQ's trampoline node for 4 sat + 0.4 %; the API takes no fee limit.
const phoenixdFee = (amountMsat: Msat): Msat => 4_000n + (amountMsat * 4_000n) / 1_000_000n;

/**
 * A loopback reproduction of phoenixd's HTTP API (phoenixd 0.6 API reference and its Ktor
 * routes): HTTP basic auth with an empty user, form-encoded parameters, `POST /payinvoice`
 * (a failed payment is HTTP 200 with `{paymentHash, reason}`), `GET /getbalance`,
 * `POST /createinvoice` and `GET /payments/outgoingbyhash/{paymentHash}`. Amounts in the
 * pay answer are truncated to whole sats, as phoenixd does; `fees` in payment records is msat.
 */
export async function startPhoenixdReproduction(
  options: PhoenixdReproductionOptions,
): Promise<PhoenixdReproduction> {
  const backing = new BackingWallet(options.wallet);
  let reproduction: PhoenixdReproduction | undefined;
  const server = await startLoopbackServer((request, response) =>
    handle(request, response, options, backing, {
      hang: reproduction?.hangPayments === true,
      hideRecords: reproduction?.hideRecords === true,
    }),
  );
  reproduction = Object.assign(server, { backing, hangPayments: false, hideRecords: false });
  return reproduction;
}

function password(request: RecordedRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

async function handle(
  request: RecordedRequest,
  response: ServerResponse,
  options: PhoenixdReproductionOptions,
  backing: BackingWallet,
  { hang, hideRecords }: { hang: boolean; hideRecords: boolean },
): Promise<void> {
  const given = password(request);
  const full = given === options.password;
  if (!full && (options.limitedPassword === undefined || given !== options.limitedPassword)) {
    sendText(
      response,
      401,
      'Invalid authentication (use basic auth with the http password set in phoenix.conf)',
    );
    return;
  }
  const form = new URLSearchParams(
    request.method === 'POST' ? request.body : request.query.toString(),
  );
  const route = `${request.method} ${request.path}`;

  if (route === 'POST /payinvoice') {
    if (!full) {
      sendText(
        response,
        401,
        'Invalid authentication (use basic auth with the http password set in phoenix.conf)',
      );
      return;
    }
    const text = form.get('invoice');
    if (text === null) {
      sendText(response, 400, 'Request parameter invoice is missing');
      return;
    }
    const decoded = backing.decode(text);
    if (decoded === undefined) {
      sendText(
        response,
        400,
        "Request parameter invoice couldn't be parsed/converted to bolt11invoice",
      );
      return;
    }
    const amountMsat = decoded.amountMsat ?? BigInt(form.get('amountSat') ?? '0') * 1000n;
    const allowance = (options.maxFeeMsat ?? phoenixdFee)(amountMsat);
    if (hang) {
      void backing.pay(decoded, allowance);
      return;
    }
    const result = await backing.pay(decoded, allowance, exchangeSignal(response));
    if (result.ok) {
      sendJson(response, 200, {
        recipientAmountSat: Number(amountMsat / 1000n),
        routingFeeSat: Number(result.feeMsat / 1000n), // truncated, as phoenixd does
        paymentId: randomUUID(),
        paymentHash: decoded.paymentHash,
        paymentPreimage: result.preimage,
      });
      return;
    }
    if (result.error instanceof PaymentOutcomeUnknownError) return; // still waiting
    sendJson(response, 200, {
      paymentHash: decoded.paymentHash,
      reason: failureReason(result.error),
    });
    return;
  }
  if (route === 'GET /getbalance') {
    const msat = await backing.balanceMsat();
    sendJson(response, 200, { balanceSat: Number(msat / 1000n), feeCreditSat: 0 });
    return;
  }
  if (route === 'POST /createinvoice') {
    const description = form.get('description');
    if (description === null) {
      sendText(response, 400, 'Must provide either a description or descriptionHash');
      return;
    }
    const amountSat = BigInt(form.get('amountSat') ?? '0');
    const expiry = form.get('expirySeconds');
    const created = await backing.createInvoice(
      amountSat * 1000n,
      description,
      expiry === null ? undefined : Number(expiry),
    );
    sendJson(response, 200, {
      amountSat: Number(amountSat),
      paymentHash: created.paymentHash,
      serialized: created.invoice,
    });
    return;
  }
  if (request.method === 'GET' && request.path.startsWith('/payments/outgoingbyhash/')) {
    const hash = request.path.slice('/payments/outgoingbyhash/'.length).toLowerCase();
    const status = await backing.lookup(hash);
    const attempt = backing.attempts.get(hash);
    if (status.state === 'unknown' || attempt === undefined || hideRecords) {
      sendText(response, 404, 'Unknown endpoint (check api doc)');
      return;
    }
    const completed = status.state === 'pending' ? {} : { completedAt: Date.now() };
    sendJson(response, 200, {
      paymentHash: hash,
      ...(status.state === 'succeeded' ? { preimage: status.preimage } : {}),
      isPaid: status.state !== 'pending',
      sent: Number(attempt.amountMsat / 1000n),
      fees: status.state === 'succeeded' ? Number(status.feeMsat) : 0,
      invoice: attempt.invoice,
      ...completed,
      createdAt: attempt.createdAt,
    });
    return;
  }
  sendText(response, 404, 'Unknown endpoint (check api doc)');
}

/** lightning-kmp's FinalFailure messages, as phoenixd puts them in `reason`. */
function failureReason(error: Error): string {
  if (error instanceof InsufficientBalanceError)
    return 'not enough funds in wallet to afford payment';
  if (error instanceof InvoiceAlreadyPaidError) return 'this invoice has already been paid';
  if (error instanceof NoRouteError) return 'the recipient is unreachable';
  return 'payment could not be sent through existing channels, check individual failures for more details';
}
