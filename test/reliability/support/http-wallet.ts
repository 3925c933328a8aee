import {
  InsufficientBalanceError,
  InvoiceAlreadyPaidError,
  NoRouteError,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  type PaymentStatus,
  type Wallet,
} from '@l402kit/core';

/** The client side of `wallet-server.ts`: a core `Wallet` paying through another process. */
export function httpWallet(url: string): Wallet {
  return {
    name: 'http-sandbox',
    network: 'regtest',
    async payInvoice(request) {
      let answer: Record<string, string>;
      try {
        const response = await fetch(`${url}/pay`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            invoice: request.invoice,
            amountMsat: request.amountMsat.toString(),
            paymentHash: request.paymentHash,
            maxFeeMsat: request.maxFeeMsat.toString(),
            timeoutMs: request.timeoutMs,
          }),
          ...(request.signal ? { signal: request.signal } : {}),
        });
        answer = (await response.json()) as Record<string, string>;
      } catch (cause) {
        throw new PaymentOutcomeUnknownError('the wallet did not answer', { cause });
      }
      const details = { paymentHash: request.paymentHash, amountMsat: request.amountMsat };
      switch (answer.error) {
        case undefined:
          return { preimage: answer.preimage!, feeMsat: BigInt(answer.feeMsat!) };
        case 'PAYMENT_OUTCOME_UNKNOWN':
          throw new PaymentOutcomeUnknownError('the payment is still in flight', details);
        case 'NO_ROUTE':
          throw new NoRouteError('no route', details);
        case 'INSUFFICIENT_BALANCE':
          throw new InsufficientBalanceError('insufficient balance', details);
        case 'INVOICE_ALREADY_PAID':
          throw new InvoiceAlreadyPaidError('already paid', details);
        default:
          throw new PaymentFailedError(`the payment failed (${answer.error})`, details);
      }
    },
    async lookupPayment(paymentHash): Promise<PaymentStatus> {
      const response = await fetch(`${url}/payments/${paymentHash}`);
      const status = (await response.json()) as PaymentStatus & { feeMsat?: string };
      return status.state === 'succeeded'
        ? { ...status, feeMsat: BigInt(status.feeMsat) }
        : (status as PaymentStatus);
    },
  };
}
