import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { L402Error, type PaymentStatus } from '@l402kit/core';
import type { SandboxNode } from '@l402kit/sandbox';

/** Called when a payment request arrives, and once it is paid, before the answer goes out. */
export interface WalletServerHooks {
  /** Return false to drop the request: the payment is never made and no answer is sent. */
  beforePay?(paymentHash: string): Promise<boolean | undefined> | boolean | undefined;
  afterPay?(paymentHash: string): Promise<void> | void;
}

export interface WalletServer {
  url: string;
  hooks: WalletServerHooks;
  close(): Promise<void>;
}

/**
 * A sandbox node's wallet over loopback HTTP, for a paid fetch in another process (see
 * `http-wallet.ts`). Like a real node it finishes a payment even when the caller is gone.
 */
export async function startWalletServer(node: SandboxNode): Promise<WalletServer> {
  const hooks: WalletServerHooks = {};
  const server = createServer(async (request, response) => {
    const send = (status: number, body: unknown) => {
      if (response.destroyed) return;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    try {
      if (request.method === 'POST' && request.url === '/pay') {
        const body = JSON.parse(await readBody(request)) as Record<string, string>;
        const paymentHash = body.paymentHash!;
        if ((await hooks.beforePay?.(paymentHash)) === false) return;
        let answer: unknown;
        try {
          const paid = await node.wallet.payInvoice({
            invoice: body.invoice!,
            amountMsat: BigInt(body.amountMsat!),
            paymentHash,
            maxFeeMsat: BigInt(body.maxFeeMsat!),
            timeoutMs: Number(body.timeoutMs),
          });
          answer = { preimage: paid.preimage, feeMsat: paid.feeMsat.toString() };
        } catch (error) {
          answer = { error: error instanceof L402Error ? error.code : 'PAYMENT_FAILED' };
        }
        await hooks.afterPay?.(paymentHash);
        send(200, answer);
        return;
      }
      const lookup = /^\/payments\/([0-9a-f]{64})$/.exec(request.url ?? '');
      if (request.method === 'GET' && lookup) {
        const status: PaymentStatus = await node.wallet.lookupPayment!(lookup[1]!);
        send(
          200,
          status.state === 'succeeded' ? { ...status, feeMsat: status.feeMsat.toString() } : status,
        );
        return;
      }
      send(404, { error: 'not found' });
    } catch (error) {
      send(500, { error: String(error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hooks,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
