import type { Msat } from './amount.js';

/** The Bitcoin network an invoice or wallet belongs to, as read from the BOLT11 prefix. */
export type BitcoinNetwork = 'bitcoin' | 'testnet' | 'signet' | 'regtest' | 'simnet';

export interface PayInvoiceRequest {
  /** BOLT11 payment request. */
  invoice: string;
  /** Amount the caller decoded from the invoice; wallets may use it to double-check. */
  amountMsat: Msat;
  /** Payment hash (hex) the caller decoded from the invoice. */
  paymentHash: string;
  /**
   * The most the wallet may spend on fees: reserved in every budget before paying. A wallet
   * whose backend cannot keep to a limit declares its own worst case (`worstCaseFeeMsat`).
   */
  maxFeeMsat: Msat;
  /** After this the wallet stops waiting and reports an unknown outcome. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface PayInvoiceResult {
  /** 32-byte preimage as 64 lower-case hex characters. */
  preimage: string;
  feeMsat: Msat;
}

export interface CreateInvoiceRequest {
  amountMsat: Msat;
  description?: string;
  expirySeconds?: number;
}

export interface CreatedInvoice {
  invoice: string;
  paymentHash: string;
}

/** What a wallet knows about an outgoing payment it was asked to make. */
export type PaymentStatus =
  | { state: 'succeeded'; preimage: string; feeMsat: Msat }
  | { state: 'failed'; reason?: string }
  | { state: 'pending' }
  | { state: 'unknown' };

/** What a wallet-side budget allows (NWC `get_budget`), when the wallet has one. */
export interface WalletBudget {
  usedMsat: Msat;
  totalMsat: Msat;
  renewsAt?: Date;
  renewalPeriod?: string;
}

/**
 * A source of payments. `payInvoice` resolves only when the payment succeeded; it throws a
 * `PaymentFailedError` (or a subclass) when the wallet is sure no money moved, and a
 * `PaymentOutcomeUnknownError` when it cannot tell (timeout, abort after sending, crash).
 */
export interface Wallet {
  /** Short name for messages and logs, never containing a secret. */
  readonly name: string;
  /** The network the wallet pays on, when known; invoices for other networks are refused. */
  readonly network?: BitcoinNetwork;
  payInvoice(request: PayInvoiceRequest): Promise<PayInvoiceResult>;
  getBalance?(): Promise<{ balanceMsat: Msat }>;
  createInvoice?(request: CreateInvoiceRequest): Promise<CreatedInvoice>;
  /** Looks up an outgoing payment by its payment hash (hex). */
  lookupPayment?(paymentHash: string): Promise<PaymentStatus>;
  getBudget?(): Promise<WalletBudget | undefined>;
  /**
   * The most this wallet may charge in fees to pay `amountMsat`, for a wallet whose backend takes
   * no fee limit (phoenixd, LNbits, NWC) and so may not keep to `PayInvoiceRequest.maxFeeMsat`.
   * Core reserves the larger of this and its own fee limit before paying, so that no budget
   * level can end above its limit. Leave it out when the wallet keeps to `maxFeeMsat`.
   */
  worstCaseFeeMsat?(amountMsat: Msat): Msat;
  /** Releases sockets and timers so the process can exit. */
  close?(): Promise<void>;
}
