import type { ServerResponse } from 'node:http';
import {
  InvoiceAlreadyPaidError,
  type Msat,
  PaymentOutcomeUnknownError,
  type PaymentStatus,
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

export interface ClnRestReproductionOptions {
  /** The wallet that really pays (a sandbox node's wallet). */
  wallet: Wallet;
  /** The rune the server accepts in the `Rune` header. */
  rune: string;
  /** Serve https with this key and certificate, as CLNRest does by default. */
  tls?: { key: string; cert: string };
}

export interface ClnRestReproduction extends LoopbackServer {
  /** While true, `pay` pays and never answers. */
  hangPayments: boolean;
  backing: BackingWallet;
}

/**
 * A loopback reproduction of Core Lightning's CLNRest (`POST /v1/<method>`, `Rune` header, JSON
 * params; RPC errors are HTTP 500 with `{code, message}`), for `pay`, `listpays`, `listfunds`
 * and `invoice` as lightning-pay(7), lightning-listpays(7), lightning-listfunds(7) and
 * lightning-invoice(7) describe them (amounts as integer msat, CLN 23.08+).
 */
export async function startClnRestReproduction(
  options: ClnRestReproductionOptions,
): Promise<ClnRestReproduction> {
  const backing = new BackingWallet(options.wallet);
  const labels = new Set<string>();
  let reproduction: ClnRestReproduction | undefined;
  const server = await startLoopbackServer(
    (request, response) =>
      handle(request, response, options, backing, labels, reproduction?.hangPayments === true),
    options.tls === undefined ? {} : { tls: options.tls },
  );
  reproduction = Object.assign(server, { backing, hangPayments: false });
  return reproduction;
}

function rpcError(response: ServerResponse, code: number, message: string): void {
  sendJson(response, 500, { code, message });
}

function pay(
  attempt: { invoice: string; paymentHash: string; amountMsat: Msat },
  status: PaymentStatus,
) {
  const feeMsat = status.state === 'succeeded' ? status.feeMsat : 0n;
  const state = { succeeded: 'complete', failed: 'failed', pending: 'pending', unknown: 'pending' }[
    status.state
  ];
  return {
    bolt11: attempt.invoice,
    payment_hash: attempt.paymentHash,
    status: state,
    created_at: Math.floor(Date.now() / 1000),
    amount_msat: Number(attempt.amountMsat),
    amount_sent_msat: Number(attempt.amountMsat + feeMsat),
    ...(status.state === 'succeeded' ? { preimage: status.preimage } : {}),
  };
}

async function handle(
  request: RecordedRequest,
  response: ServerResponse,
  options: ClnRestReproductionOptions,
  backing: BackingWallet,
  labels: Set<string>,
  hang: boolean,
): Promise<void> {
  const rune = request.headers['rune'];
  if (typeof rune !== 'string') {
    sendJson(response, 401, { code: 1501, message: 'Not authorized: Missing rune' });
    return;
  }
  if (rune !== options.rune) {
    sendJson(response, 401, { code: 1502, message: 'Not authorized: Not derived from master' });
    return;
  }
  const method =
    request.method === 'POST' && request.path.startsWith('/v1/') ? request.path.slice(4) : '';
  const params = jsonBody(request);
  if (params === undefined) {
    rpcError(response, -32700, 'Parse error');
    return;
  }

  switch (method) {
    case 'pay': {
      const decoded = backing.decode(params['bolt11']);
      if (decoded === undefined) {
        rpcError(
          response,
          -32602,
          'bolt11: should be a bolt11 or bolt12 string: Invalid bech32 string',
        );
        return;
      }
      // Without maxfee, CLN allows 0.5% (maxfeepercent) with 5 sat exempt (exemptfee).
      const amountMsat = decoded.amountMsat ?? 0n;
      const maxfee: Msat =
        params['maxfee'] !== undefined
          ? BigInt(String(params['maxfee']).replace(/msat$/, ''))
          : amountMsat / 200n > 5_000n
            ? amountMsat / 200n
            : 5_000n;
      if (hang) {
        void backing.pay(decoded, maxfee);
        return;
      }
      const existing = await backing.lookup(decoded.paymentHash);
      if (existing.state === 'succeeded') {
        // pay returns the earlier success for an invoice this node already paid.
        sendJson(response, 201, {
          ...pay({ ...decoded, amountMsat }, existing),
          parts: 1,
          payment_preimage: existing.preimage,
        });
        return;
      }
      const result = await backing.pay(decoded, maxfee, exchangeSignal(response));
      if (result.ok) {
        sendJson(response, 201, {
          destination: decoded.payee,
          payment_hash: decoded.paymentHash,
          created_at: Date.now() / 1000,
          parts: 1,
          amount_msat: Number(amountMsat),
          amount_sent_msat: Number(amountMsat + result.feeMsat),
          payment_preimage: result.preimage,
          status: 'complete',
        });
      } else if (result.error instanceof PaymentOutcomeUnknownError) {
        // Still waiting on the HTLC; pay would not return yet.
      } else if (result.error instanceof InvoiceAlreadyPaidError) {
        rpcError(
          response,
          203,
          "Destination said it doesn't know invoice: incorrect_or_unknown_payment_details",
        );
      } else {
        rpcError(response, 205, 'Ran out of routes to try after 1 attempt: see `paystatus`');
      }
      return;
    }
    case 'listpays': {
      const hash = String(params['payment_hash'] ?? '').toLowerCase();
      const attempt = backing.attempts.get(hash);
      const status = await backing.lookup(hash);
      sendJson(response, 201, {
        pays: attempt === undefined || status.state === 'unknown' ? [] : [pay(attempt, status)],
      });
      return;
    }
    case 'listfunds': {
      const balance = await backing.balanceMsat();
      sendJson(response, 201, {
        outputs: [],
        channels: [
          {
            peer_id: `02${'11'.repeat(32)}`,
            connected: true,
            state: 'CHANNELD_NORMAL',
            channel_id: '22'.repeat(32),
            short_channel_id: '103x1x0',
            our_amount_msat: Number(balance),
            amount_msat: Number(balance) + 1_000_000_000,
            funding_txid: '33'.repeat(32),
            funding_output: 0,
          },
          {
            peer_id: `03${'44'.repeat(32)}`,
            connected: false,
            state: 'ONCHAIN',
            our_amount_msat: 50_000,
            amount_msat: 50_000,
          },
        ],
      });
      return;
    }
    case 'invoice': {
      const label = String(params['label'] ?? '');
      if (
        label === '' ||
        params['amount_msat'] === undefined ||
        params['description'] === undefined
      ) {
        rpcError(response, -32602, 'missing required parameter');
        return;
      }
      if (labels.has(label)) {
        rpcError(response, 900, 'Duplicate label');
        return;
      }
      labels.add(label);
      const expiry = params['expiry'] === undefined ? undefined : Number(params['expiry']);
      const created = await backing.createInvoice(
        BigInt(String(params['amount_msat'])),
        String(params['description']),
        expiry,
      );
      sendJson(response, 201, {
        payment_hash: created.paymentHash,
        expires_at: Math.floor(Date.now() / 1000) + (expiry ?? 604_800),
        bolt11: created.invoice,
        payment_secret: '55'.repeat(32),
        created_index: labels.size,
      });
      return;
    }
    default:
      rpcError(response, -32601, `Unknown command '${method}'`);
  }
}
