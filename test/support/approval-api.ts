import { createPaidFetch, type PaidFetch, type Wallet } from '@l402kit/core';
import type { SandboxNode } from '@l402kit/sandbox';
import { type PaidApi, startPaidApi } from './paid-api.js';

/** A paid API whose price and payee a test changes between a quote and the payment. */
export interface ApprovalApi extends PaidApi {
  /** The price of every path not under /cheap, in sats (paths under /cheap cost 5 sats). */
  setPrice(sats: number): void;
  /** From now on invoices are payable to another node of the same network; returns it. */
  switchPayee(): SandboxNode;
}

/** Price 25 sats (5 under /cheap), invoices titled "Research report"; an approval threshold of 10 sats suits it. */
export async function startApprovalApi(): Promise<ApprovalApi> {
  let price = 25;
  let payee: SandboxNode | undefined;
  let api: PaidApi | undefined;
  const wallet = {
    name: 'switchable merchant',
    createInvoice: (request: Parameters<NonNullable<Wallet['createInvoice']>>[0]) =>
      (payee ?? api!.merchant).wallet.createInvoice!(request),
  } as unknown as Wallet;
  api = await startPaidApi({
    paywall: {
      wallet,
      price: (request) => (new URL(request.url).pathname.startsWith('/cheap') ? 5 : price),
      description: 'Research report',
    },
  });
  const started = api;
  return {
    ...started,
    setPrice(sats) {
      price = sats;
    },
    switchPayee() {
      payee = started.network.createNode({ name: 'other merchant' });
      return payee;
    },
  };
}

/** A paid fetch for `api` on loopback where a person approves every payment above 10 sats. */
export function approvalPaidFetch(api: ApprovalApi): PaidFetch {
  return createPaidFetch({
    wallet: api.payer.wallet,
    policy: { allowPrivateNetwork: true, requireHttps: false, approveAboveSats: 10 },
  });
}
