import type { Msat, Wallet } from '@l402kit/core';

// The sandbox's public shapes in one file: a node injects faults, and a fault's matcher sees
// the nodes of a payment, so these types refer to each other and the implementations do not.

export interface SandboxInvoiceOptions {
  /** Leave both amounts out for an amountless invoice (which payers refuse). */
  amountMsat?: Msat;
  amountSats?: number | bigint;
  description?: string;
  /** 3600 by default. */
  expirySeconds?: number;
}

export interface SandboxInvoice {
  /** Regtest BOLT11 invoice (`lnbcrt...`) signed with the node's key. */
  invoice: string;
  paymentHash: string;
  /** Released to the payer when the invoice is paid; handy for tests of servers. */
  preimage: string;
}

/** A Lightning node in a sandbox network. */
export interface SandboxNode {
  readonly name: string;
  /** The node's secp256k1 public key (33 bytes compressed, hex): the payee of its invoices. */
  readonly publicKey: string;
  readonly balanceMsat: Msat;
  /** This node as a core `Wallet` named `sandbox:<name>`. */
  readonly wallet: Wallet;
  createInvoice(options?: SandboxInvoiceOptions): SandboxInvoice;
  /** Injects a fault that hits only payments this node makes. */
  injectFault(options: SandboxFaultOptions): SandboxFault;
}

/**
 * What can go wrong with a payment:
 * - `no-route`: refused before sending (NoRouteError), nothing moves.
 * - `insufficient-balance`: refused before sending (InsufficientBalanceError), nothing moves.
 * - `already-paid`: refused before sending (InvoiceAlreadyPaidError), nothing moves.
 * - `hang-then-settle`: sent, the money is locked and the payment stays pending; the payer
 *   sees PaymentOutcomeUnknownError when its timeout or abort comes first; it later succeeds.
 * - `hang-then-fail`: the same, but it later fails and the money returns to the payer.
 */
export type SandboxFaultKind =
  | 'no-route'
  | 'insufficient-balance'
  | 'already-paid'
  | 'hang-then-settle'
  | 'hang-then-fail';

/** A payment about to be made, as a fault's `match` sees it. */
export interface SandboxPaymentAttempt {
  invoice: string;
  paymentHash: string;
  amountMsat: Msat;
  payer: SandboxNode;
  /** Undefined when no node in the network has the invoice's key. */
  payee: SandboxNode | undefined;
}

export interface SandboxFaultOptions {
  kind: SandboxFaultKind;
  /** Which payments the fault hits; all of them by default. */
  match?: (attempt: SandboxPaymentAttempt) => boolean;
  /** How many payments it hits before it is used up; 1 by default, `Infinity` for all. */
  times?: number;
  /**
   * Hang faults only: resolve the hung payment on its own after this long. Without it the
   * payment stays pending until `network.settlePending()` or `network.failPending()`.
   */
  resolveAfterMs?: number;
}

export interface SandboxFault {
  readonly kind: SandboxFaultKind;
  /** Payments it has hit so far. */
  readonly hits: number;
  /** Payments it may still hit. */
  readonly remaining: number;
  remove(): void;
}
