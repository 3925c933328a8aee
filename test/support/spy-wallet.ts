import type { PayInvoiceRequest, PayInvoiceResult, Wallet } from '@l402kit/core';

export interface SpyWallet extends Wallet {
  /** Every payInvoice request, in order. */
  readonly calls: PayInvoiceRequest[];
}

/**
 * `inner` with its payInvoice calls recorded; `network` may be overridden (undefined: the
 * wallet declares none) and `afterPay` may change what the wallet reports.
 */
export function spyWallet(
  inner: Wallet,
  options: {
    network?: Wallet['network'] | null;
    afterPay?: (result: PayInvoiceResult) => PayInvoiceResult;
  } = {},
): SpyWallet {
  const calls: PayInvoiceRequest[] = [];
  const network = options.network === null ? undefined : (options.network ?? inner.network);
  return {
    name: `spy:${inner.name}`,
    ...(network === undefined ? {} : { network }),
    calls,
    async payInvoice(request) {
      calls.push(request);
      const result = await inner.payInvoice(request);
      return options.afterPay ? options.afterPay(result) : result;
    },
    ...(inner.lookupPayment ? { lookupPayment: (hash: string) => inner.lookupPayment!(hash) } : {}),
    ...(inner.getBalance ? { getBalance: () => inner.getBalance!() } : {}),
  };
}
