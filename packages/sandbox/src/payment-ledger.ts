import type { Msat } from '@l402kit/core';
import type { SandboxFaultKind } from './sandbox-types.js';

export type SandboxPaymentState = 'pending' | 'succeeded' | 'failed';

/** One payment attempt in the network's ledger. Names identify the nodes. */
export interface SandboxPayment {
  readonly id: number;
  readonly payer: string;
  /** Undefined when the invoice's key belongs to no node in the network. */
  readonly payee: string | undefined;
  readonly amountMsat: Msat;
  /** Routing fee charged (0 unless the payment was sent). */
  readonly feeMsat: Msat;
  readonly paymentHash: string;
  readonly state: SandboxPaymentState;
  /** The error code the payer got when the payment failed (e.g. "NO_ROUTE"). */
  readonly failureCode: string | undefined;
  readonly failureReason: string | undefined;
  /** The injected fault that hit this payment, if any. */
  readonly fault: SandboxFaultKind | undefined;
}

/** A ledger entry; the preimage is kept private so printing a ledger never shows it. */
export class PaymentEntry implements SandboxPayment {
  state: SandboxPaymentState = 'pending';
  feeMsat: Msat = 0n;
  failureCode: string | undefined;
  failureReason: string | undefined;
  fault: SandboxFaultKind | undefined;
  #preimage: string | undefined;

  constructor(
    readonly id: number,
    readonly payer: string,
    readonly payee: string | undefined,
    readonly amountMsat: Msat,
    readonly paymentHash: string,
  ) {}

  get preimage(): string | undefined {
    return this.#preimage;
  }

  succeed(preimage: string): void {
    this.state = 'succeeded';
    this.#preimage = preimage;
  }

  fail(code: string, reason: string): void {
    this.state = 'failed';
    this.failureCode = code;
    this.failureReason = reason;
  }
}
