import { type Msat, msatToSats, satsToMsat } from '../amount.js';
import type { Budget } from '../budget/budget.js';
import {
  AmountlessInvoiceError,
  InvoiceExpiredError,
  NetworkMismatchError,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  PreimageMismatchError,
  PriceAboveCapError,
} from '../errors.js';
import { DEFAULT_FEE_LIMIT, type FeeLimit, feeToReserve } from '../budget/fee-limit.js';
import { decodeInvoice, isInvoiceExpired } from '../protocol/invoice.js';
import { type Approval, authorizePayment } from './approval.js';
import type { Policy } from './policy.js';
import { isPreimageFor } from '../protocol/preimage.js';
import { reserveAll, settleAll } from './purchase.js';
import type { Wallet } from '../wallet.js';

export interface PayInvoiceOptions {
  wallet: Wallet;
  policy: Policy;
  /** Every budget the payment must fit (see `budgetsToCharge`). */
  budgets: Budget[];
  feeLimit?: FeeLimit;
  timeoutMs?: number;
  maxSats?: number;
  signal?: AbortSignal;
  /** A person's approval of this invoice (see `invoiceApprovalTerms`); used once. */
  approval?: Approval;
}

export interface PaidInvoice {
  paymentHash: string;
  amountMsat: Msat;
  feeMsat: Msat;
  preimage: string;
}

/**
 * Pays a bare BOLT11 invoice under the same rules as a paid fetch: exact amount, not expired,
 * right network, price cap, operator approval, every budget with the fee reserved.
 */
export async function payInvoice(
  invoiceText: string,
  options: PayInvoiceOptions,
): Promise<PaidInvoice> {
  const invoice = decodeInvoice(invoiceText);
  const details = { paymentHash: invoice.paymentHash };
  if (invoice.amountMsat === undefined) {
    throw new AmountlessInvoiceError(
      'The invoice has no amount; l402kit never pays those. Nothing was paid.',
      details,
    );
  }
  if (isInvoiceExpired(invoice)) {
    throw new InvoiceExpiredError(
      `The invoice expired at ${invoice.expiresAt.toISOString()}. Nothing was paid.`,
      details,
    );
  }
  const { wallet } = options;
  if (wallet.network && wallet.network !== invoice.network) {
    throw new NetworkMismatchError(
      `The invoice is for ${invoice.network} but the wallet pays on ${wallet.network}. Nothing was paid.`,
      details,
    );
  }
  const amountMsat = invoice.amountMsat;
  // Budgets and caps count a bare invoice against its payee, as a paid fetch counts a host.
  const host = `lightning:${invoice.payee}`;
  options.policy.checkPrice({ host, amountMsat });
  if (options.maxSats !== undefined && amountMsat > satsToMsat(options.maxSats)) {
    throw new PriceAboveCapError(
      `The invoice asks ${msatToSats(amountMsat)} sats, above the cap of ${options.maxSats} sats. Nothing was paid.`,
      details,
    );
  }
  const maxFeeMsat = feeToReserve(amountMsat, options.feeLimit ?? DEFAULT_FEE_LIMIT, wallet);
  await authorizePayment(options.policy, options.approval, {
    url: invoiceApprovalUrl(invoice.paymentHash),
    method: INVOICE_METHOD,
    host,
    amountMsat,
    maxFeeMsat,
    payee: invoice.payee,
    description: invoice.description,
  });
  const reservations = await reserveAll(options.budgets, {
    amountMsat,
    maxFeeMsat,
    host,
    description: invoice.description,
    paymentHash: invoice.paymentHash,
  });
  let result: { preimage: string; feeMsat: Msat };
  try {
    result = await wallet.payInvoice({
      invoice: invoice.invoice,
      amountMsat,
      paymentHash: invoice.paymentHash,
      maxFeeMsat,
      timeoutMs: options.timeoutMs ?? 60_000,
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof PaymentFailedError) {
      await settleAll(reservations, (reservation) => reservation.release());
      throw error;
    }
    await settleAll(reservations, (reservation) => reservation.markUnknown());
    if (error instanceof PaymentOutcomeUnknownError) throw error;
    throw new PaymentOutcomeUnknownError(
      `The wallet did not confirm the payment of ${msatToSats(amountMsat)} sats; it stays counted as spent.`,
      { ...details, amountMsat: amountMsat + maxFeeMsat, cause: error },
    );
  }
  await settleAll(reservations, (reservation) => reservation.commit(result.feeMsat));
  if (!isPreimageFor(result.preimage, invoice.paymentHash)) {
    throw new PreimageMismatchError(
      'The wallet reported paying but returned a preimage that does not match the invoice; the payment is counted as spent.',
      { ...details, amountMsat: amountMsat + result.feeMsat, feeMsat: result.feeMsat },
    );
  }
  return {
    paymentHash: invoice.paymentHash,
    amountMsat,
    feeMsat: result.feeMsat,
    preimage: result.preimage.toLowerCase(),
  };
}

/** What an approval of a bare invoice is bound to: that invoice (its payment hash) only. */
export function invoiceApprovalUrl(paymentHash: string): string {
  return `lightning:${paymentHash}`;
}
export const INVOICE_METHOD = 'PAY';
