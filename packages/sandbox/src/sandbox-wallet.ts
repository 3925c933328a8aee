import type {
  BitcoinNetwork,
  CreatedInvoice,
  CreateInvoiceRequest,
  Msat,
  PayInvoiceRequest,
  PayInvoiceResult,
  PaymentStatus,
  Wallet,
} from '@l402kit/core';

/** What the wallet asks of its node; the node decides how. */
export interface WalletNode {
  readonly name: string;
  readonly balanceMsat: Msat;
  pay(request: PayInvoiceRequest): Promise<PayInvoiceResult>;
  createInvoice(request: CreateInvoiceRequest): CreatedInvoice;
  lookupPayment(paymentHash: string): PaymentStatus;
}

/** A sandbox node seen through core's `Wallet` interface. */
export class SandboxWallet implements Wallet {
  readonly name: string;
  readonly network: BitcoinNetwork = 'regtest';
  readonly #node: WalletNode;

  constructor(node: WalletNode) {
    this.name = `sandbox:${node.name}`;
    this.#node = node;
  }

  payInvoice(request: PayInvoiceRequest): Promise<PayInvoiceResult> {
    return this.#node.pay(request);
  }

  async getBalance(): Promise<{ balanceMsat: Msat }> {
    return { balanceMsat: this.#node.balanceMsat };
  }

  async createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice> {
    // The preimage stays with the node, as a real wallet keeps it.
    const { invoice, paymentHash } = this.#node.createInvoice(request);
    return { invoice, paymentHash };
  }

  async lookupPayment(paymentHash: string): Promise<PaymentStatus> {
    return this.#node.lookupPayment(paymentHash);
  }

  async close(): Promise<void> {
    // Nothing to release: the sandbox holds no sockets, and pending timers end on their own.
  }
}
