import type { Msat } from '@l402kit/core';
import type { SandboxNode } from './sandbox-node.js';

/**
 * What can go wrong with a payment:
 * - `no-route`: refused before sending (NoRouteError), nothing moves.
 * - `insufficient-balance`: refused before sending (InsufficientBalanceError), nothing moves.
 * - `already-paid`: refused before sending (InvoiceAlreadyPaidError), nothing moves.
 * - `hang-then-settle`: sent, the money is locked and the payment stays pending; the payer
 *   sees PaymentOutcomeUnknownError when its timeout or abort comes first; it later succeeds.
 * - `hang-then-fail`: the same, but it later fails and the money returns to the payer.
 */
export type SandboxFaultKind =
  | 'no-route'
  | 'insufficient-balance'
  | 'already-paid'
  | 'hang-then-settle'
  | 'hang-then-fail';

/** A payment about to be made, as a fault's `match` sees it. */
export interface SandboxPaymentAttempt {
  invoice: string;
  paymentHash: string;
  amountMsat: Msat;
  payer: SandboxNode;
  /** Undefined when no node in the network has the invoice's key. */
  payee: SandboxNode | undefined;
}

export interface SandboxFaultOptions {
  kind: SandboxFaultKind;
  /** Which payments the fault hits; all of them by default. */
  match?: (attempt: SandboxPaymentAttempt) => boolean;
  /** How many payments it hits before it is used up; 1 by default, `Infinity` for all. */
  times?: number;
  /**
   * Hang faults only: resolve the hung payment on its own after this long. Without it the
   * payment stays pending until `network.settlePending()` or `network.failPending()`.
   */
  resolveAfterMs?: number;
}

export interface SandboxFault {
  readonly kind: SandboxFaultKind;
  /** Payments it has hit so far. */
  readonly hits: number;
  /** Payments it may still hit. */
  readonly remaining: number;
  remove(): void;
}

const HANG_KINDS: ReadonlySet<SandboxFaultKind> = new Set(['hang-then-settle', 'hang-then-fail']);

/** When a fault applies: refusals before any money moves, hangs once the payment is sent. */
export type FaultPhase = 'before-send' | 'in-flight';

class ActiveFault implements SandboxFault {
  hits = 0;
  remaining: number;
  readonly kind: SandboxFaultKind;
  readonly resolveAfterMs: number | undefined;
  readonly #options: SandboxFaultOptions;
  readonly #faults: Set<ActiveFault>;

  constructor(options: SandboxFaultOptions, faults: Set<ActiveFault>) {
    const times = options.times ?? 1;
    if (!(times >= 0)) throw new RangeError(`fault times must be a number >= 0: ${times}`);
    this.kind = options.kind;
    this.remaining = times;
    this.resolveAfterMs = options.resolveAfterMs;
    this.#options = options;
    this.#faults = faults;
  }

  get phase(): FaultPhase {
    return HANG_KINDS.has(this.kind) ? 'in-flight' : 'before-send';
  }

  matches(attempt: SandboxPaymentAttempt): boolean {
    return this.#options.match === undefined || this.#options.match(attempt);
  }

  use(): void {
    this.hits += 1;
    this.remaining -= 1;
    if (this.remaining <= 0) this.remove();
  }

  remove(): void {
    this.#faults.delete(this);
  }
}

/** The faults waiting to hit payments, in the order they were injected. */
export class FaultList {
  readonly #faults = new Set<ActiveFault>();

  add(options: SandboxFaultOptions): SandboxFault {
    const fault = new ActiveFault(options, this.#faults);
    if (fault.remaining > 0) this.#faults.add(fault);
    return fault;
  }

  /** Takes the first fault of this phase that matches, counting the hit. */
  take(attempt: SandboxPaymentAttempt, phase: FaultPhase): ActiveFault | undefined {
    if (this.#faults.size === 0) return undefined;
    for (const fault of this.#faults) {
      if (fault.phase === phase && fault.matches(attempt)) {
        fault.use();
        return fault;
      }
    }
    return undefined;
  }
}
