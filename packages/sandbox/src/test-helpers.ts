import type { PayInvoiceRequest, PayInvoiceResult } from '@l402kit/core';
import type { SandboxInvoice, SandboxNode } from './sandbox-types.js';

/** Pays a sandbox invoice from a node's wallet with generous limits unless told otherwise. */
export function pay(
  payer: SandboxNode,
  created: SandboxInvoice,
  amountMsat: bigint,
  overrides: Partial<PayInvoiceRequest> = {},
): Promise<PayInvoiceResult> {
  return payer.wallet.payInvoice({
    invoice: created.invoice,
    amountMsat,
    paymentHash: created.paymentHash,
    maxFeeMsat: 1_000_000_000n,
    timeoutMs: 60_000,
    ...overrides,
  });
}
