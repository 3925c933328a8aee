import type {
  SandboxFault,
  SandboxFaultKind,
  SandboxFaultOptions,
  SandboxPaymentAttempt,
} from './sandbox-types.js';

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
