import { type DecodedInvoice, decodeInvoice } from '@l402kit/core';

/** Enough for every open invoice of a busy test or benchmark; about 1 kB each. */
const DEFAULT_CAPACITY = 10_000;

/**
 * The invoices a network minted, as decoding them would read them, by payment request: paying
 * one of them skips the signature recovery that takes most of a sandbox payment. Bounded: the
 * oldest entries go first, and an invoice not held (another network's, changed, or gone) is
 * decoded and checked as before.
 */
export class InvoiceCache {
  readonly #entries = new Map<string, DecodedInvoice>();

  constructor(readonly capacity = DEFAULT_CAPACITY) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Keeps what the network wrote into an invoice it just signed. */
  remember(decoded: DecodedInvoice): void {
    this.#entries.delete(decoded.invoice);
    this.#entries.set(decoded.invoice, decoded);
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** The invoice's fields: remembered when the network minted exactly this text, else decoded. */
  decode(invoice: string): DecodedInvoice {
    return this.#entries.get(invoice) ?? decodeInvoice(invoice);
  }
}
