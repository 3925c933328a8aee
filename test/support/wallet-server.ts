import {
  L402Error,
  type PayInvoiceResult,
  PaymentFailedError,
  type PaymentStatus,
  type Wallet,
} from '@l402kit/core';
import { type LoopbackServer, serveFetch } from './serve-fetch.js';

/**
 * A wallet's payInvoice and lookupPayment over loopback HTTP, so that a child process can pay
 * through a sandbox that lives in the test process (and outlives the child).
 *   POST /pay     {invoice, amountMsat, paymentHash, maxFeeMsat, timeoutMs} -> {preimage, feeMsat}
 *   GET  /lookup/<payment hash>                                           -> PaymentStatus
 * Amounts travel as decimal strings. A refusal answers 409 with {code, message, paid}.
 */
export async function serveWallet(
  wallet: Wallet,
  hooks: { onPayStarted?: (paymentHash: string) => void } = {},
): Promise<LoopbackServer> {
  return serveFetch(async (request) => {
    const url = new URL(request.url);
    if (request.method === 'POST' && url.pathname === '/pay') {
      const body = (await request.json()) as Record<string, string | number>;
      const paying = wallet.payInvoice({
        invoice: String(body.invoice),
        amountMsat: BigInt(body.amountMsat!),
        paymentHash: String(body.paymentHash),
        maxFeeMsat: BigInt(body.maxFeeMsat!),
        timeoutMs: Number(body.timeoutMs),
      });
      hooks.onPayStarted?.(String(body.paymentHash));
      try {
        const result: PayInvoiceResult = await paying;
        return Response.json({ preimage: result.preimage, feeMsat: String(result.feeMsat) });
      } catch (error) {
        const failure = error instanceof L402Error ? error : undefined;
        return Response.json(
          {
            code: failure?.code ?? 'UNKNOWN',
            message: failure?.message ?? String(error),
            paid: failure?.paid ?? 'unknown',
          },
          { status: 409 },
        );
      }
    }
    const lookup = /^\/lookup\/([0-9a-f]{64})$/.exec(url.pathname);
    if (request.method === 'GET' && lookup && wallet.lookupPayment) {
      const status = await wallet.lookupPayment(lookup[1]!);
      return Response.json(
        status.state === 'succeeded' ? { ...status, feeMsat: String(status.feeMsat) } : status,
      );
    }
    return new Response('not found', { status: 404 });
  });
}

/** The client side of `serveWallet`: a regtest Wallet that pays over HTTP. */
export function httpWallet(
  baseUrl: string,
  hooks: { afterPay?: (result: PayInvoiceResult) => void } = {},
): Wallet {
  return {
    name: 'http-test-wallet',
    network: 'regtest',
    async payInvoice(request) {
      const response = await fetch(`${baseUrl}/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          invoice: request.invoice,
          amountMsat: String(request.amountMsat),
          paymentHash: request.paymentHash,
          maxFeeMsat: String(request.maxFeeMsat),
          timeoutMs: request.timeoutMs,
        }),
      });
      const body = (await response.json()) as {
        preimage?: string;
        feeMsat?: string;
        code?: string;
        message?: string;
        paid?: unknown;
      };
      if (response.status === 409) {
        // Only a wallet that is sure nothing moved may say failed; anything else is unknown.
        if (body.paid === false) throw new PaymentFailedError(String(body.message));
        throw new Error(`the wallet could not tell (${body.code})`);
      }
      const result = { preimage: String(body.preimage), feeMsat: BigInt(body.feeMsat ?? '0') };
      hooks.afterPay?.(result);
      return result;
    },
    async lookupPayment(paymentHash) {
      const response = await fetch(`${baseUrl}/lookup/${paymentHash}`);
      const body = (await response.json()) as PaymentStatus & { feeMsat?: string };
      return body.state === 'succeeded' ? { ...body, feeMsat: BigInt(body.feeMsat!) } : body;
    },
  };
}
