import {
  DEFAULT_FEE_LIMIT,
  type DecodedInvoice,
  decodeInvoice,
  type L402Challenge,
  maxFeeFor,
  parseL402Challenge,
  type Wallet,
} from '@l402kit/core';
import type { Paywall } from '@l402kit/server';

/**
 * One real purchase from `paywall` without HTTP: the 402 for `url`, its challenge read and
 * paid from `wallet`. What the benchmarks verify or take apart afterwards.
 */
export async function buyOnce(
  paywall: Paywall,
  wallet: Wallet,
  url: string,
): Promise<{
  header: string;
  challenge: L402Challenge;
  invoice: DecodedInvoice;
  preimage: string;
}> {
  const result = await paywall.authorize(new Request(url));
  if (result.ok) throw new Error('the paywall let an unpaid request through');
  const header = result.response.headers.get('www-authenticate') ?? '';
  const challenge = parseL402Challenge(header);
  const invoice = decodeInvoice(challenge.invoice);
  const { preimage } = await wallet.payInvoice({
    invoice: challenge.invoice,
    amountMsat: invoice.amountMsat!,
    paymentHash: invoice.paymentHash,
    maxFeeMsat: maxFeeFor(invoice.amountMsat!, DEFAULT_FEE_LIMIT),
    timeoutMs: 10_000,
  });
  return { header, challenge, invoice, preimage };
}
