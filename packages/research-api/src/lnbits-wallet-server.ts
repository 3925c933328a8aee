import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeInvoice, L402Error, type Msat, type Wallet } from '@l402kit/core';

export interface LnbitsWalletServerOptions {
  /** The wallet to expose, e.g. a funded sandbox node's wallet. */
  wallet: Wallet;
  /** The admin key clients must send as `X-Api-Key`; random by default. */
  adminKey?: string;
  port?: number;
  host?: string;
}

export interface LnbitsWalletServer {
  url: string;
  /** `lnbits://<admin key>@127.0.0.1:<port>?tls=false`: a secret, give it only to the payer. */
  walletUrl: string;
  close(): Promise<void>;
}

/**
 * Serves a wallet over the subset of the LNbits HTTP API that l402kit's LNbits wallet uses
 * (pay, invoice, payment lookup, balance), so another process, such as `l402kit fetch`, can
 * pay with a sandbox wallet that lives in this one.
 */
export async function startLnbitsWalletServer(
  options: LnbitsWalletServerOptions,
): Promise<LnbitsWalletServer> {
  const { wallet } = options;
  const adminKey = options.adminKey ?? randomBytes(16).toString('hex');
  // Outgoing amounts by payment hash: LNbits reports them as negative msat.
  const outgoing = new Map<string, Msat>();

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const key = request.headers['x-api-key'];
    if (typeof key !== 'string' || !sameText(key, adminKey)) {
      return sendJson(response, 401, { detail: 'Invalid key' });
    }
    const path = new URL(request.url ?? '/', 'http://wallet').pathname;
    if (request.method === 'GET' && path === '/api/v1/wallet') {
      const { balanceMsat } = (await wallet.getBalance?.()) ?? { balanceMsat: 0n };
      return sendJson(response, 200, { name: 'sandbox', balance: Number(balanceMsat) });
    }
    if (request.method === 'POST' && path === '/api/v1/payments') {
      const body = (await readJson(request)) as Record<string, unknown>;
      if (body.out === false) return createInvoice(body, response);
      return pay(body, response);
    }
    const lookup = /^\/api\/v1\/payments\/([0-9a-f]{64})$/.exec(path);
    if (request.method === 'GET' && lookup) return lookupPayment(lookup[1]!, response);
    sendJson(response, 404, { detail: 'Not found' });
  };

  const pay = async (body: Record<string, unknown>, response: ServerResponse) => {
    let invoice: ReturnType<typeof decodeInvoice>;
    try {
      invoice = decodeInvoice(String(body.bolt11));
    } catch {
      return sendJson(response, 400, { detail: 'Invalid bolt11 invoice' });
    }
    const amountMsat = invoice.amountMsat;
    if (amountMsat === undefined) {
      return sendJson(response, 400, { detail: 'Amountless invoices are not supported' });
    }
    outgoing.set(invoice.paymentHash, amountMsat);
    try {
      await wallet.payInvoice({
        invoice: invoice.invoice,
        amountMsat,
        paymentHash: invoice.paymentHash,
        // LNbits takes no fee limit from the caller; it keeps its own fee reserve.
        maxFeeMsat: maxBig(2_000n, amountMsat / 100n),
        timeoutMs: 30_000,
      });
    } catch (error) {
      if (error instanceof L402Error && error.paid === false) {
        outgoing.delete(invoice.paymentHash);
        return sendJson(response, 520, { detail: error.message });
      }
      // Outcome unknown: the lookup will say pending, then succeeded or failed.
    }
    sendJson(response, 201, {
      payment_hash: invoice.paymentHash,
      checking_id: invoice.paymentHash,
    });
  };

  const createInvoice = async (body: Record<string, unknown>, response: ServerResponse) => {
    if (!wallet.createInvoice) return sendJson(response, 400, { detail: 'Cannot create invoices' });
    const amount = Number(body.amount);
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      return sendJson(response, 400, { detail: 'amount must be whole sats' });
    }
    const created = await wallet.createInvoice({
      amountMsat: BigInt(amount) * 1000n,
      description: typeof body.memo === 'string' ? body.memo : undefined,
      expirySeconds: typeof body.expiry === 'number' ? body.expiry : undefined,
    });
    sendJson(response, 201, {
      payment_hash: created.paymentHash,
      payment_request: created.invoice,
    });
  };

  const lookupPayment = async (paymentHash: string, response: ServerResponse) => {
    const amountMsat = outgoing.get(paymentHash);
    const status = amountMsat === undefined ? undefined : await wallet.lookupPayment?.(paymentHash);
    if (amountMsat === undefined || status === undefined || status.state === 'unknown') {
      return sendJson(response, 404, { detail: 'Payment does not exist.' });
    }
    const details = { amount: -Number(amountMsat), status: status.state };
    if (status.state === 'succeeded') {
      return sendJson(response, 200, {
        paid: true,
        preimage: status.preimage,
        details: { ...details, status: 'success', fee: -Number(status.feeMsat) },
      });
    }
    sendJson(response, 200, {
      paid: false,
      status: status.state,
      preimage: '0'.repeat(64),
      details,
    });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) sendJson(response, 500, { detail: 'Internal error' });
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    walletUrl: `lnbits://${adminKey}@${host}:${port}?tls=false`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    return {};
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
