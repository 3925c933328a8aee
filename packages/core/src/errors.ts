import { formatMsat, type Msat } from './amount.js';
import { redactCause, redactUrlsIn, redactUrlText } from './redact.js';

/** Whether money left the wallet: yes, no, or not known yet (counted as spent until resolved). */
export type Paid = true | false | 'unknown';

export interface L402ErrorDetails {
  paid?: Paid;
  /** What was paid (or is at stake when `paid` is "unknown"), fees included. */
  amountMsat?: Msat;
  feeMsat?: Msat;
  paymentHash?: string;
  url?: string;
  cause?: unknown;
}

/**
 * Base of every error l402kit throws. `code` is stable across versions; `paid` always says
 * whether a payment happened. Messages never contain macaroons, preimages or wallet secrets,
 * nor the userinfo, query or fragment of a URL (also not in `cause`).
 */
export class L402Error extends Error {
  readonly code: string = 'L402_ERROR';
  readonly paid: Paid;
  readonly amountMsat: Msat;
  readonly feeMsat: Msat;
  readonly paymentHash: string | undefined;
  readonly url: string | undefined;

  constructor(message: string, details: L402ErrorDetails = {}) {
    // URLs lose their userinfo, query and fragment here, whoever wrote the text (undici puts
    // the full URL in its messages).
    super(
      asSentence(redactUrlsIn(message)),
      details.cause === undefined ? undefined : { cause: redactCause(details.cause) },
    );
    this.name = new.target.name;
    this.paid = details.paid ?? false;
    this.amountMsat = details.amountMsat ?? 0n;
    this.feeMsat = details.feeMsat ?? 0n;
    this.paymentHash = details.paymentHash;
    this.url = details.url === undefined ? undefined : redactUrlText(details.url);
  }

  /** One sentence on whether money moved, for people and models. */
  get paymentSummary(): string {
    if (this.paid === true) return `Paid ${formatMsat(this.amountMsat)}.`;
    if (this.paid === 'unknown') {
      return `A payment of up to ${formatMsat(this.amountMsat)} may have been made; it stays counted as spent until the wallet reports it failed.`;
    }
    return 'Nothing was paid.';
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      paid: this.paid,
      amountMsat: this.amountMsat.toString(),
      feeMsat: this.feeMsat.toString(),
      paymentHash: this.paymentHash,
      url: this.url,
    };
  }
}

// Malformed input: nothing is paid on input that cannot be read.
export class MalformedChallengeError extends L402Error {
  override readonly code = 'MALFORMED_CHALLENGE';
}
export class MalformedMacaroonError extends L402Error {
  override readonly code = 'MALFORMED_MACAROON';
}
export class MalformedInvoiceError extends L402Error {
  override readonly code = 'MALFORMED_INVOICE';
}
export class MalformedCredentialError extends L402Error {
  override readonly code = 'MALFORMED_CREDENTIAL';
}

// Refusals before paying.
export class AmountlessInvoiceError extends L402Error {
  override readonly code = 'AMOUNTLESS_INVOICE';
}
export class InvoiceExpiredError extends L402Error {
  override readonly code = 'INVOICE_EXPIRED';
}
export class InvoiceMismatchError extends L402Error {
  override readonly code = 'INVOICE_MISMATCH';
}
/**
 * The challenge's token is not an L402 macaroon (an opaque `macaroon=`/`token=` value), so
 * the invoice cannot be checked against it; refused unless the policy allows opaque tokens
 * from that host (`allowOpaqueTokens`).
 */
export class OpaqueTokenError extends L402Error {
  override readonly code = 'OPAQUE_TOKEN';
}
export class NetworkMismatchError extends L402Error {
  override readonly code = 'NETWORK_MISMATCH';
}
export class BudgetExceededError extends L402Error {
  override readonly code = 'BUDGET_EXCEEDED';
}
export class PriceAboveCapError extends L402Error {
  override readonly code = 'PRICE_ABOVE_CAP';
}
export class PolicyDeniedError extends L402Error {
  override readonly code = 'POLICY_DENIED';
}
/** The operator's callback or a person said no. */
export class ApprovalDeniedError extends L402Error {
  override readonly code = 'APPROVAL_DENIED';
}
/**
 * The payment needs a person's approval that was not given, or the approval given does not
 * cover it (price raised, other payee, expired, already used): ask again.
 */
export class ApprovalRequiredError extends L402Error {
  override readonly code = 'APPROVAL_REQUIRED';
}
export class BodyNotReplayableError extends L402Error {
  override readonly code = 'BODY_NOT_REPLAYABLE';
}

// Payment outcomes. A PaymentFailedError means the wallet is sure no money moved.
export class PaymentFailedError extends L402Error {
  override readonly code: string = 'PAYMENT_FAILED';
  constructor(message: string, details: L402ErrorDetails = {}) {
    super(message, { ...details, paid: false });
  }
}
export class InsufficientBalanceError extends PaymentFailedError {
  override readonly code = 'INSUFFICIENT_BALANCE';
}
export class NoRouteError extends PaymentFailedError {
  override readonly code = 'NO_ROUTE';
}
export class InvoiceAlreadyPaidError extends PaymentFailedError {
  override readonly code = 'INVOICE_ALREADY_PAID';
}
export class WalletQuotaExceededError extends PaymentFailedError {
  override readonly code = 'WALLET_QUOTA_EXCEEDED';
}
export class WalletRateLimitedError extends PaymentFailedError {
  override readonly code = 'WALLET_RATE_LIMITED';
}
export class WalletUnauthorizedError extends PaymentFailedError {
  override readonly code = 'WALLET_UNAUTHORIZED';
}
export class WalletUnsupportedError extends PaymentFailedError {
  override readonly code = 'WALLET_UNSUPPORTED';
}

/** The wallet could not say whether the payment went through; the amount stays counted. */
export class PaymentOutcomeUnknownError extends L402Error {
  override readonly code = 'PAYMENT_OUTCOME_UNKNOWN';
  constructor(message: string, details: L402ErrorDetails = {}) {
    super(message, { ...details, paid: 'unknown' });
  }
}

/** The wallet reported success but the preimage does not hash to the invoice's payment hash. */
export class PreimageMismatchError extends L402Error {
  override readonly code = 'PREIMAGE_MISMATCH';
  constructor(message: string, details: L402ErrorDetails = {}) {
    super(message, { ...details, paid: 'unknown' });
  }
}

/** Paid, but the server did not deliver; the token is kept so a retry costs nothing. */
export class PaidNotDeliveredError extends L402Error {
  override readonly code = 'PAID_NOT_DELIVERED';
  readonly status: number | undefined;
  constructor(message: string, details: L402ErrorDetails & { status?: number } = {}) {
    super(message, { ...details, paid: true });
    this.status = details.status;
  }
}

/** The server answered 402 again after a paid retry; l402kit never pays twice for one call. */
export class PaymentLoopError extends L402Error {
  override readonly code = 'PAYMENT_LOOP';
}

/**
 * Refused before paying: this resource, or its origin, answered 402 again after being paid
 * before (a payment loop), and the record has been neither cleared nor outlived its cool-down.
 */
export class PaymentLoopRefusedError extends L402Error {
  override readonly code = 'PAYMENT_LOOP_REFUSED';
}

/** The HTTP request itself failed (DNS, connection, abort); `paid` says if it was before or after paying. */
export class RequestFailedError extends L402Error {
  override readonly code: string = 'REQUEST_FAILED';
}

/**
 * A response (its headers, or its whole body) did not arrive within its deadline
 * (`headersTimeoutMs`, `bodyTimeoutMs`); `paid` says whether this call paid before it.
 */
export class RequestTimeoutError extends RequestFailedError {
  override readonly code = 'REQUEST_TIMEOUT';
}

/** An option of createPaidFetch or createL402Tools has an unusable value; nothing was paid. */
export class InvalidOptionError extends L402Error {
  override readonly code = 'INVALID_OPTION';
}

/** A wallet URL or configuration that cannot be used; the message never repeats the secret. */
export class WalletConfigError extends L402Error {
  override readonly code = 'WALLET_CONFIG';
}

/** The token store cannot be read or written (unreadable file, lock not obtained); nothing was paid. */
export class TokenStoreError extends L402Error {
  override readonly code = 'TOKEN_STORE';
}

/**
 * The l402kit database (ledger, tokens, spend log) cannot be opened, read or written: corrupt,
 * locked past the busy timeout, from a newer version. Fails closed: nothing was paid.
 */
export class DatabaseUnavailableError extends L402Error {
  override readonly code = 'DATABASE_UNAVAILABLE';
}

/**
 * A budget cannot be made from these options (createBudget), or a run context carries something
 * that is not a budget where a run budget belongs; nothing was paid.
 */
export class BudgetConfigError extends L402Error {
  override readonly code = 'BUDGET_CONFIG';
}

/** Messages are read as sentences, often followed by another: they end with a full stop. */
function asSentence(message: string): string {
  const trimmed = message.trimEnd();
  return trimmed === '' || /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

export function isL402Error(error: unknown): error is L402Error {
  return error instanceof L402Error;
}
