import { createECDH, randomBytes } from 'node:crypto';
import {
  type DecodedInvoice,
  type Msat,
  type PayInvoiceRequest,
  type PayInvoiceResult,
  type PaymentStatus,
  satsToMsat,
  type Wallet,
} from '@l402kit/core';
import { encodeInvoice, MAX_INVOICE_MSAT, sha256Hex } from './encode-invoice.js';
import type { PaymentEntry } from './payment-ledger.js';
import type {
  SandboxFault,
  SandboxFaultOptions,
  SandboxInvoice,
  SandboxInvoiceOptions,
  SandboxNode,
} from './sandbox-types.js';
import { SandboxWallet, type WalletNode } from './sandbox-wallet.js';

/** What a node needs from its network (the network implements it; nodes never import it). */
export interface NodeNetwork {
  now(): number;
  pay(payer: SandboxNodeImplementation, request: PayInvoiceRequest): Promise<PayInvoiceResult>;
  lookupPayment(payer: SandboxNodeImplementation, paymentHash: string): PaymentStatus;
  injectFault(options: SandboxFaultOptions): SandboxFault;
  /** Told about every invoice a node signs, with the fields a decoder would read from it. */
  rememberInvoice(decoded: DecodedInvoice): void;
}

export type InvoiceState = 'open' | 'in-flight' | 'paid';

export interface InvoiceRecord {
  readonly paymentHash: string;
  readonly preimage: string;
  state: InvoiceState;
}

const DEFAULT_EXPIRY_SECONDS = 3600;
// The last instant a Date can hold; decoders read later expiries as this.
const LATEST_DATE_MS = 8.64e15;

export class SandboxNodeImplementation implements SandboxNode, WalletNode {
  readonly publicKey: string;
  readonly wallet: Wallet;
  balanceMsat: Msat;
  /** Invoices this node issued, by payment hash. */
  readonly invoices = new Map<string, InvoiceRecord>();
  /** Payments this node made, by payment hash, oldest first. */
  readonly outgoing = new Map<string, PaymentEntry[]>();
  readonly #privateKey: Buffer;

  constructor(
    readonly network: NodeNetwork,
    readonly name: string,
    balanceMsat: Msat,
  ) {
    const keys = createECDH('secp256k1');
    keys.generateKeys();
    // OpenSSL may drop leading zero bytes; bolt11 wants exactly 32.
    const privateKey = keys.getPrivateKey();
    this.#privateKey = Buffer.concat([Buffer.alloc(32 - privateKey.length), privateKey]);
    this.publicKey = keys.getPublicKey('hex', 'compressed');
    this.balanceMsat = balanceMsat;
    this.wallet = new SandboxWallet(this);
  }

  createInvoice(options: SandboxInvoiceOptions = {}): SandboxInvoice {
    const amountMsat = invoiceAmount(options);
    const expirySeconds = options.expirySeconds ?? DEFAULT_EXPIRY_SECONDS;
    if (!Number.isSafeInteger(expirySeconds) || expirySeconds <= 0) {
      throw new RangeError(`expirySeconds must be a positive whole number: ${expirySeconds}`);
    }
    const description = options.description ?? '';
    if (Buffer.byteLength(description) > 639) {
      throw new RangeError('description is longer than BOLT11 allows (639 bytes)');
    }
    const preimageBytes = randomBytes(32);
    const paymentHash = sha256Hex(preimageBytes);
    const createdAtSeconds = Math.floor(this.network.now() / 1000);
    if ((createdAtSeconds + expirySeconds) * 1000 > LATEST_DATE_MS) {
      throw new RangeError(`expirySeconds ends the invoice after the last date a decoder reads`);
    }
    const invoice = encodeInvoice({
      privateKey: this.#privateKey,
      publicKey: this.publicKey,
      amountMsat,
      paymentHash,
      paymentSecret: randomBytes(32).toString('hex'),
      description,
      expirySeconds,
      createdAtSeconds,
    });
    // What decodeInvoice reads back from this invoice, known without decoding it.
    this.network.rememberInvoice({
      invoice,
      network: 'regtest',
      amountMsat,
      paymentHash,
      createdAt: new Date(createdAtSeconds * 1000),
      expiresAt: new Date((createdAtSeconds + expirySeconds) * 1000),
      expirySeconds,
      payee: this.publicKey,
      description,
    });
    const preimage = preimageBytes.toString('hex');
    this.invoices.set(paymentHash, { paymentHash, preimage, state: 'open' });
    return { invoice, paymentHash, preimage };
  }

  pay(request: PayInvoiceRequest): Promise<PayInvoiceResult> {
    return this.network.pay(this, request);
  }

  lookupPayment(paymentHash: string): PaymentStatus {
    return this.network.lookupPayment(this, paymentHash);
  }

  injectFault(options: SandboxFaultOptions): SandboxFault {
    const { match } = options;
    return this.network.injectFault({
      ...options,
      match: (attempt) => attempt.payer === this && (match === undefined || match(attempt)),
    });
  }

  recordOutgoing(entry: PaymentEntry): void {
    const entries = this.outgoing.get(entry.paymentHash);
    if (entries === undefined) this.outgoing.set(entry.paymentHash, [entry]);
    else entries.push(entry);
  }
}

function invoiceAmount(options: SandboxInvoiceOptions): Msat | undefined {
  const fromSats = options.amountSats === undefined ? undefined : satsToMsat(options.amountSats);
  if (
    fromSats !== undefined &&
    options.amountMsat !== undefined &&
    fromSats !== options.amountMsat
  ) {
    throw new RangeError('amountMsat and amountSats disagree');
  }
  const amountMsat = options.amountMsat ?? fromSats;
  if (amountMsat !== undefined && (amountMsat <= 0n || amountMsat > MAX_INVOICE_MSAT)) {
    throw new RangeError(`invoice amount out of range: ${amountMsat} msat`);
  }
  return amountMsat;
}
