import {
  AmountlessInvoiceError,
  type DecodedInvoice,
  formatMsat,
  InsufficientBalanceError,
  InvoiceAlreadyPaidError,
  InvoiceExpiredError,
  InvoiceMismatchError,
  type L402Error,
  type Msat,
  NetworkMismatchError,
  NoRouteError,
  type PayInvoiceRequest,
  type PayInvoiceResult,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  type PaymentStatus,
  satsToMsat,
} from '@l402kit/core';
import { FaultList, type FaultPhase } from './faults.js';
import { InvoiceCache } from './invoice-cache.js';
import { PaymentEntry, type SandboxPayment } from './payment-ledger.js';
import { routingFeeMsat } from './routing-fee.js';
import { type InvoiceRecord, type NodeNetwork, SandboxNodeImplementation } from './sandbox-node.js';
import type {
  SandboxFault,
  SandboxFaultKind,
  SandboxFaultOptions,
  SandboxNode,
  SandboxPaymentAttempt,
} from './sandbox-types.js';

export interface SandboxNetworkOptions {
  /** Routing fee charged on every payment, in msat; 0 by default. */
  feeBaseMsat?: Msat;
  /** Proportional routing fee in parts per million of the amount; 0 by default. */
  feeRatePpm?: number;
  /** How long a payment takes to settle; 0 (no timer at all) by default. */
  latencyMs?: number;
  /** Clock in milliseconds, for invoice timestamps and expiry; `Date.now` by default. */
  now?: () => number;
}

export interface SandboxNodeOptions {
  /** Unique in the network; `node-<n>` by default. */
  name?: string;
  balanceSats?: number | bigint;
  balanceMsat?: Msat;
}

/** An in-process Lightning network: nodes, balances, fees, a ledger and injectable faults. */
export interface SandboxNetwork {
  readonly nodes: readonly SandboxNode[];
  /** Every payment attempt on a valid invoice, oldest first. */
  readonly payments: readonly SandboxPayment[];
  readonly feesCollectedMsat: Msat;
  /** Money locked in payments that are sent but not yet settled or failed. */
  readonly pendingMsat: Msat;
  /** Sum of all starting balances: `totalMsat()` always equals it. */
  readonly fundedMsat: Msat;
  createNode(options?: SandboxNodeOptions): SandboxNode;
  /** Balances + fees collected + money locked in pending payments. */
  totalMsat(): Msat;
  /** Makes the next matching payment(s) fail or hang; see `SandboxFaultKind`. */
  injectFault(options: SandboxFaultOptions): SandboxFault;
  /** Pending payments (all, or those with this hash) succeed now. Returns them. */
  settlePending(paymentHash?: string): SandboxPayment[];
  /** Pending payments (all, or those with this hash) fail now, money back to the payer. */
  failPending(paymentHash?: string): SandboxPayment[];
  /** Pending payments end as planned: hang-then-settle settles, hang-then-fail fails. */
  resolvePending(paymentHash?: string): SandboxPayment[];
}

type Outcome = 'settle' | 'fail';

/** A sent payment whose money is locked until it settles or fails. */
interface Flight {
  readonly entry: PaymentEntry;
  readonly payer: SandboxNodeImplementation;
  readonly payee: SandboxNodeImplementation;
  readonly record: InvoiceRecord;
  /** Amount plus fee, taken from the payer when sent. */
  readonly lockedMsat: Msat;
  readonly plannedOutcome: Outcome;
  readonly waiters: Set<() => void>;
  timer?: ReturnType<typeof setTimeout>;
}

// setTimeout fires at once for delays above this.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SandboxNetworkImplementation implements SandboxNetwork, NodeNetwork {
  readonly nodes: SandboxNodeImplementation[] = [];
  readonly payments: PaymentEntry[] = [];
  feesCollectedMsat: Msat = 0n;
  pendingMsat: Msat = 0n;
  fundedMsat: Msat = 0n;
  readonly now: () => number;
  readonly #feeBaseMsat: Msat;
  readonly #feeRatePpm: number;
  readonly #latencyMs: number;
  readonly #faults = new FaultList();
  readonly #nodesByKey = new Map<string, SandboxNodeImplementation>();
  readonly #nodesByName = new Map<string, SandboxNodeImplementation>();
  readonly #pending = new Map<number, Flight>();
  readonly #invoices = new InvoiceCache();

  constructor(options: SandboxNetworkOptions = {}) {
    this.#feeBaseMsat = options.feeBaseMsat ?? 0n;
    this.#feeRatePpm = options.feeRatePpm ?? 0;
    this.#latencyMs = options.latencyMs ?? 0;
    this.now = options.now ?? Date.now;
    if (this.#feeBaseMsat < 0n) throw new RangeError('feeBaseMsat must not be negative');
    if (!Number.isSafeInteger(this.#feeRatePpm) || this.#feeRatePpm < 0) {
      throw new RangeError(`feeRatePpm must be a whole number >= 0: ${this.#feeRatePpm}`);
    }
    if (!(this.#latencyMs >= 0 && this.#latencyMs <= MAX_TIMER_MS)) {
      throw new RangeError(`latencyMs must be a number of milliseconds >= 0: ${this.#latencyMs}`);
    }
  }

  createNode(options: SandboxNodeOptions = {}): SandboxNode {
    const name = options.name ?? `node-${this.nodes.length + 1}`;
    if (this.#nodesByName.has(name)) throw new RangeError(`a node named "${name}" already exists`);
    const fromSats =
      options.balanceSats === undefined ? undefined : satsToMsat(options.balanceSats);
    if (
      fromSats !== undefined &&
      options.balanceMsat !== undefined &&
      fromSats !== options.balanceMsat
    ) {
      throw new RangeError('balanceMsat and balanceSats disagree');
    }
    const balanceMsat = options.balanceMsat ?? fromSats ?? 0n;
    if (balanceMsat < 0n) throw new RangeError('a balance must not be negative');
    const node = new SandboxNodeImplementation(this, name, balanceMsat);
    this.nodes.push(node);
    this.#nodesByKey.set(node.publicKey, node);
    this.#nodesByName.set(name, node);
    this.fundedMsat += balanceMsat;
    return node;
  }

  totalMsat(): Msat {
    let total = this.feesCollectedMsat + this.pendingMsat;
    for (const node of this.nodes) total += node.balanceMsat;
    return total;
  }

  injectFault(options: SandboxFaultOptions): SandboxFault {
    return this.#faults.add(options);
  }

  settlePending(paymentHash?: string): SandboxPayment[] {
    return this.#resolveMany(paymentHash, () => 'settle');
  }

  failPending(paymentHash?: string): SandboxPayment[] {
    return this.#resolveMany(paymentHash, () => 'fail');
  }

  resolvePending(paymentHash?: string): SandboxPayment[] {
    return this.#resolveMany(paymentHash, (flight) => flight.plannedOutcome);
  }

  rememberInvoice(decoded: DecodedInvoice): void {
    this.#invoices.remember(decoded);
  }

  /** Pays an invoice from `payer`; everything up to locking the money runs without awaiting. */
  async pay(
    payer: SandboxNodeImplementation,
    request: PayInvoiceRequest,
  ): Promise<PayInvoiceResult> {
    const flight = this.#send(payer, request);
    if (flight.entry.state === 'succeeded') return succeeded(flight.entry);
    return this.#wait(flight, request);
  }

  lookupPayment(payer: SandboxNodeImplementation, paymentHash: string): PaymentStatus {
    const entries = payer.outgoing.get(paymentHash.toLowerCase()) ?? [];
    const success = entries.find((entry) => entry.state === 'succeeded');
    if (success?.preimage !== undefined) {
      return { state: 'succeeded', preimage: success.preimage, feeMsat: success.feeMsat };
    }
    if (entries.some((entry) => entry.state === 'pending')) return { state: 'pending' };
    const failure = entries.at(-1);
    if (failure !== undefined) return { state: 'failed', reason: failure.failureReason };
    // Real wallets answer "not found" for a hash they never paid.
    return { state: 'unknown' };
  }

  #send(payer: SandboxNodeImplementation, request: PayInvoiceRequest): Flight {
    // An invoice a node here signed is read from the cache. Any other text is decoded, which
    // checks the signature: the payee key is recovered from it, so a tampered invoice either
    // fails here or names a key no node in the network has.
    const invoice = this.#invoices.decode(request.invoice);
    const { paymentHash } = invoice;
    if (invoice.network !== 'regtest') {
      throw new NetworkMismatchError(
        `the sandbox pays regtest invoices, not ${invoice.network} ones`,
        { paymentHash },
      );
    }
    const amountMsat = invoice.amountMsat;
    if (amountMsat === undefined) {
      throw new AmountlessInvoiceError('the invoice has no amount', { paymentHash });
    }
    if (request.amountMsat !== amountMsat || request.paymentHash.toLowerCase() !== paymentHash) {
      throw new InvoiceMismatchError(
        'the amount or payment hash given does not match the invoice',
        { paymentHash, amountMsat },
      );
    }
    if (this.now() >= invoice.expiresAt.getTime()) {
      throw new InvoiceExpiredError('the invoice has expired', { paymentHash, amountMsat });
    }

    const payee = this.#nodesByKey.get(invoice.payee);
    const entry = new PaymentEntry(
      this.payments.length + 1,
      payer.name,
      payee?.name,
      amountMsat,
      paymentHash,
    );
    this.payments.push(entry);
    payer.recordOutgoing(entry);
    const details = { paymentHash, amountMsat };
    // Records a refusal in the ledger and hands the error back to be thrown.
    const refused = (error: L402Error): L402Error => {
      entry.fail(error.code, error.message);
      return error;
    };

    if (request.signal?.aborted)
      throw refused(new PaymentFailedError('aborted before sending', details));
    if (payee === undefined)
      throw refused(new NoRouteError('no route to the payee: unknown node', details));
    if (payee === payer)
      throw refused(new NoRouteError('no route: a node cannot pay its own invoice', details));
    const attempt: SandboxPaymentAttempt = {
      invoice: request.invoice,
      paymentHash,
      amountMsat,
      payer,
      payee,
    };
    const refusal = this.#takeFault(attempt, 'before-send', entry);
    if (refusal !== undefined) {
      entry.fault = refusal.kind;
      throw refused(faultError(refusal.kind, details));
    }
    const record = payee.invoices.get(paymentHash);
    if (record === undefined)
      throw refused(new NoRouteError('the payee does not know this invoice', details));
    if (record.state === 'paid')
      throw refused(new InvoiceAlreadyPaidError('the invoice is already paid', details));
    if (record.state === 'in-flight') {
      throw refused(
        new PaymentFailedError('a payment for this invoice is already in flight', details),
      );
    }
    const feeMsat = routingFeeMsat(amountMsat, this.#feeBaseMsat, this.#feeRatePpm);
    if (feeMsat > request.maxFeeMsat) {
      throw refused(
        new NoRouteError(
          `no route within the fee limit: the fee is ${formatMsat(feeMsat)}, the limit ${formatMsat(request.maxFeeMsat)}`,
          { ...details, feeMsat },
        ),
      );
    }
    const lockedMsat = amountMsat + feeMsat;
    if (payer.balanceMsat < lockedMsat) {
      throw refused(
        new InsufficientBalanceError(
          `insufficient balance: ${formatMsat(lockedMsat)} needed with fees, ${formatMsat(payer.balanceMsat)} available`,
          { ...details, feeMsat },
        ),
      );
    }

    // Taken before locking so that a throwing `match` cannot leave money locked.
    const hang = this.#takeFault(attempt, 'in-flight', entry);
    // Lock before anything can await, so concurrent payments never spend the same msat twice.
    payer.balanceMsat -= lockedMsat;
    this.pendingMsat += lockedMsat;
    record.state = 'in-flight';
    entry.feeMsat = feeMsat;
    const flight: Flight = {
      entry,
      payer,
      payee,
      record,
      lockedMsat,
      plannedOutcome: hang?.kind === 'hang-then-fail' ? 'fail' : 'settle',
      waiters: new Set(),
    };
    if (hang !== undefined) {
      entry.fault = hang.kind;
      this.#pending.set(entry.id, flight);
      if (hang.resolveAfterMs !== undefined) {
        this.#resolveLater(flight, hang.resolveAfterMs);
      }
    } else if (this.#latencyMs > 0) {
      this.#pending.set(entry.id, flight);
      this.#resolveLater(flight, this.#latencyMs);
    } else {
      this.#resolve(flight, 'settle');
    }
    return flight;
  }

  #takeFault(attempt: SandboxPaymentAttempt, phase: FaultPhase, entry: PaymentEntry) {
    try {
      return this.#faults.take(attempt, phase);
    } catch (error) {
      // A fault's own `match` threw: the payment is refused so the ledger stays true.
      entry.fail('PAYMENT_FAILED', 'a fault matcher threw');
      throw error;
    }
  }

  #resolveLater(flight: Flight, delayMs: number): void {
    flight.timer = setTimeout(
      () => this.#resolve(flight, flight.plannedOutcome),
      Math.min(Math.max(delayMs, 0), MAX_TIMER_MS),
    );
  }

  #resolve(flight: Flight, outcome: Outcome): void {
    const { entry, payer, payee, record, lockedMsat } = flight;
    if (entry.state !== 'pending') return;
    clearTimeout(flight.timer);
    this.#pending.delete(entry.id);
    this.pendingMsat -= lockedMsat;
    if (outcome === 'settle') {
      payee.balanceMsat += entry.amountMsat;
      this.feesCollectedMsat += entry.feeMsat;
      record.state = 'paid';
      entry.succeed(record.preimage);
    } else {
      payer.balanceMsat += lockedMsat;
      record.state = 'open';
      entry.feeMsat = 0n;
      entry.fail('PAYMENT_FAILED', 'the payment failed in flight');
    }
    for (const notify of flight.waiters) notify();
  }

  #resolveMany(
    paymentHash: string | undefined,
    outcomeOf: (flight: Flight) => Outcome,
  ): SandboxPayment[] {
    const hash = paymentHash?.toLowerCase();
    const resolved: SandboxPayment[] = [];
    for (const flight of [...this.#pending.values()]) {
      if (hash !== undefined && flight.entry.paymentHash !== hash) continue;
      this.#resolve(flight, outcomeOf(flight));
      resolved.push(flight.entry);
    }
    return resolved;
  }

  /** Waits for a sent payment: its outcome, or the payer's timeout or abort (outcome unknown). */
  #wait(flight: Flight, request: PayInvoiceRequest): Promise<PayInvoiceResult> {
    const { entry } = flight;
    const { signal, timeoutMs } = request;
    return new Promise<PayInvoiceResult>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        flight.waiters.delete(onOutcome);
      };
      const onOutcome = (): void => {
        finish();
        if (entry.state === 'succeeded') resolve(succeeded(entry));
        else {
          reject(
            new PaymentFailedError(entry.failureReason ?? 'the payment failed', {
              paymentHash: entry.paymentHash,
              amountMsat: entry.amountMsat,
            }),
          );
        }
      };
      const unknown = (why: string): void => {
        finish();
        reject(
          new PaymentOutcomeUnknownError(
            `the payment was sent but ${why}; its outcome is not known yet`,
            {
              paymentHash: entry.paymentHash,
              amountMsat: flight.lockedMsat,
              feeMsat: entry.feeMsat,
            },
          ),
        );
      };
      const onAbort = (): void => unknown('the caller aborted');
      flight.waiters.add(onOutcome);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () => unknown(`it did not complete within ${timeoutMs} ms`),
          Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS),
        );
      }
    });
  }
}

function succeeded(entry: PaymentEntry): PayInvoiceResult {
  return { preimage: entry.preimage ?? '', feeMsat: entry.feeMsat };
}

function faultError(
  kind: SandboxFaultKind,
  details: { paymentHash: string; amountMsat: Msat },
): L402Error {
  switch (kind) {
    case 'insufficient-balance':
      return new InsufficientBalanceError('insufficient balance (injected fault)', details);
    case 'already-paid':
      return new InvoiceAlreadyPaidError('the invoice is already paid (injected fault)', details);
    case 'no-route':
    case 'hang-then-settle':
    case 'hang-then-fail':
      return new NoRouteError('no route to the payee (injected fault)', details);
  }
}

/** Creates an empty sandbox network; add funded nodes with `createNode`. */
export function createSandboxNetwork(options?: SandboxNetworkOptions): SandboxNetwork {
  return new SandboxNetworkImplementation(options);
}
