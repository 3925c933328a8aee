import { createECDH, randomBytes } from 'node:crypto';
import { type Msat, satsToMsat, type Wallet } from '@l402kit/core';
import { encodeInvoice, MAX_INVOICE_MSAT, sha256Hex } from './encode-invoice.js';
import type { SandboxFault, SandboxFaultOptions } from './faults.js';
import type { PaymentEntry } from './payment-ledger.js';
import type { SandboxNetworkImplementation } from './sandbox-network.js';
import { SandboxWallet } from './sandbox-wallet.js';

export interface SandboxInvoiceOptions {
  /** Leave both amounts out for an amountless invoice (which payers refuse). */
  amountMsat?: Msat;
  amountSats?: number | bigint;
  description?: string;
  /** 3600 by default. */
  expirySeconds?: number;
}

export interface SandboxInvoice {
  /** Regtest BOLT11 invoice (`lnbcrt...`) signed with the node's key. */
  invoice: string;
  paymentHash: string;
  /** Released to the payer when the invoice is paid; handy for tests of servers. */
  preimage: string;
}

/** A Lightning node in a sandbox network. */
export interface SandboxNode {
  readonly name: string;
  /** The node's secp256k1 public key (33 bytes compressed, hex): the payee of its invoices. */
  readonly publicKey: string;
  readonly balanceMsat: Msat;
  /** This node as a core `Wallet` named `sandbox:<name>`. */
  readonly wallet: Wallet;
  createInvoice(options?: SandboxInvoiceOptions): SandboxInvoice;
  /** Injects a fault that hits only payments this node makes. */
  injectFault(options: SandboxFaultOptions): SandboxFault;
}

export type InvoiceState = 'open' | 'in-flight' | 'paid';

export interface InvoiceRecord {
  readonly paymentHash: string;
  readonly preimage: string;
  state: InvoiceState;
}

const DEFAULT_EXPIRY_SECONDS = 3600;

export class SandboxNodeImplementation implements SandboxNode {
  readonly publicKey: string;
  readonly wallet: Wallet;
  balanceMsat: Msat;
  /** Invoices this node issued, by payment hash. */
  readonly invoices = new Map<string, InvoiceRecord>();
  /** Payments this node made, by payment hash, oldest first. */
  readonly outgoing = new Map<string, PaymentEntry[]>();
  readonly #privateKey: Buffer;

  constructor(
    readonly network: SandboxNetworkImplementation,
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
    const invoice = encodeInvoice({
      privateKey: this.#privateKey,
      publicKey: this.publicKey,
      amountMsat,
      paymentHash,
      paymentSecret: randomBytes(32).toString('hex'),
      description,
      expirySeconds,
      createdAtSeconds: Math.floor(this.network.now() / 1000),
    });
    const preimage = preimageBytes.toString('hex');
    this.invoices.set(paymentHash, { paymentHash, preimage, state: 'open' });
    return { invoice, paymentHash, preimage };
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
