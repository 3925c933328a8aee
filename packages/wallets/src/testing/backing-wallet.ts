import {
  type DecodedInvoice,
  decodeInvoice,
  type L402Error,
  type Msat,
  type PayInvoiceResult,
  type PaymentStatus,
  type Wallet,
} from '@l402kit/core';

/** An outgoing payment a reproduction was asked to make. */
export interface PaymentAttempt {
  invoice: string;
  paymentHash: string;
  amountMsat: Msat;
  /** The fee limit the reproduction passed to the backing wallet. */
  maxFeeMsat: Msat;
  createdAt: number;
}

export type PaymentResult =
  | ({ ok: true } & PayInvoiceResult)
  | { ok: false; error: L402Error | Error };

/**
 * What every reproduction does with the wallet behind it (a sandbox node, usually): decode the
 * invoice, pay it for real, remember the attempt, and answer lookups from the wallet itself.
 */
export class BackingWallet {
  readonly attempts = new Map<string, PaymentAttempt>();

  constructor(readonly wallet: Wallet) {}

  decode(invoice: unknown): DecodedInvoice | undefined {
    if (typeof invoice !== 'string') return undefined;
    try {
      return decodeInvoice(invoice);
    } catch {
      return undefined;
    }
  }

  /**
   * Pays through the backing wallet; never throws. Like a node, it waits for the outcome as long
   * as the HTTP exchange lasts (`signal`), however long the payment is in flight.
   */
  async pay(
    decoded: DecodedInvoice,
    maxFeeMsat: Msat,
    signal?: AbortSignal,
  ): Promise<PaymentResult> {
    const amountMsat = decoded.amountMsat ?? 0n;
    this.attempts.set(decoded.paymentHash, {
      invoice: decoded.invoice,
      paymentHash: decoded.paymentHash,
      amountMsat,
      maxFeeMsat,
      createdAt: Date.now(),
    });
    try {
      const result = await this.wallet.payInvoice({
        invoice: decoded.invoice,
        amountMsat,
        paymentHash: decoded.paymentHash,
        maxFeeMsat,
        timeoutMs: Number.POSITIVE_INFINITY,
        ...(signal === undefined ? {} : { signal }),
      });
      return { ok: true, ...result };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  async lookup(paymentHash: string): Promise<PaymentStatus> {
    if (this.wallet.lookupPayment === undefined) return { state: 'unknown' };
    return this.wallet.lookupPayment(paymentHash);
  }

  async balanceMsat(): Promise<Msat> {
    if (this.wallet.getBalance === undefined) return 0n;
    return (await this.wallet.getBalance()).balanceMsat;
  }

  async createInvoice(amountMsat: Msat, description?: string, expirySeconds?: number) {
    if (this.wallet.createInvoice === undefined)
      throw new Error('the backing wallet cannot create invoices');
    return this.wallet.createInvoice({
      amountMsat,
      ...(description === undefined ? {} : { description }),
      ...(expirySeconds === undefined ? {} : { expirySeconds }),
    });
  }
}
