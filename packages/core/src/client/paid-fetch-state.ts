import type { Budget } from '../budget/budget.js';
import type { L402Error } from '../errors.js';
import type { StoredToken, TokenScope, TokenStore } from '../tokens/token-store.js';
import type { PaymentLoopGuard } from './payment-loop-guard.js';
import type { Policy } from './policy.js';
import type { PriceQuote, PurchaseContext, PurchaseEvent } from './purchase.js';
import type { SingleFlight } from './single-flight.js';

export type PaidFetchEvent =
  | { type: 'quote'; url: string; quote: PriceQuote }
  | PurchaseEvent
  | { type: 'token-reused'; url: string; paymentHash: string }
  | { type: 'denied'; url: string; error: L402Error }
  | { type: 'error'; url: string; error: L402Error };

/** What every step of one paid fetch shares: its options, resolved, and its in-process state. */
export interface PaidFetchState {
  budget: Budget;
  policy: Policy;
  /** The fetch requests are sent with (connecting only to vetted addresses, by default). */
  baseFetch: typeof globalThis.fetch;
  tokenStore: TokenStore;
  scope: TokenScope;
  maxReplayBodyBytes: number;
  maxRedirects: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Each sent request's deadline, so the returned response's body can be aborted on time. */
  deadlines: WeakMap<Response, AbortController>;
  /** One purchase per token key in flight, shared by the calls that need it. */
  purchases: SingleFlight<StoredToken>;
  loopGuard: PaymentLoopGuard;
  /** Tells `onEvent`, which can never break a payment. */
  emit: (event: PaidFetchEvent) => void;
  /** What a purchase needs besides the call's own budgets, cap, approval and signal. */
  purchase: Omit<PurchaseContext, 'budgets' | 'maxMsat' | 'approval' | 'signal'>;
}
