import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createSandboxNetwork, type SandboxNode } from '@l402kit/sandbox';
import { challengeHeader } from './crafted-challenge.js';

export interface HostileSeller {
  url: string;
  network: ReturnType<typeof createSandboxNetwork>;
  merchant: SandboxNode;
  payer: SandboxNode;
  /** Requests that carried a credential, in order. */
  paidRequests: number;
  close(): Promise<void>;
}

/**
 * A raw node:http seller on loopback: unpaid requests get a real, payable L402 challenge
 * (sandbox invoice, macaroon bound to its hash); requests with a credential go to `onPaid`,
 * which may misbehave at the socket level (drop mid-body, trickle, never answer).
 */
export async function startHostileSeller(
  onPaid: (request: IncomingMessage, response: ServerResponse, seller: HostileSeller) => void,
  options: { priceSats?: number } = {},
): Promise<HostileSeller> {
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 100_000 });
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    if (request.headers.authorization) {
      seller.paidRequests++;
      onPaid(request, response, seller);
      return;
    }
    const invoice = merchant.createInvoice({ amountSats: options.priceSats ?? 10 });
    response.writeHead(402, { 'www-authenticate': challengeHeader(invoice) }).end();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const seller: HostileSeller = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    network,
    merchant,
    payer,
    paidRequests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return seller;
}

/** Sends the headers and part of a body, then drops the connection. */
export function dropMidBody(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
  response.write('x'.repeat(1_000), () => response.socket?.destroy());
}

/** Payments that went through on the sandbox network. */
export function succeededPayments(seller: HostileSeller): number {
  return seller.network.payments.filter((payment) => payment.state === 'succeeded').length;
}
