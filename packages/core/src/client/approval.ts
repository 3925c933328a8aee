import { formatMsat, type Msat } from '../amount.js';
import { ApprovalRequiredError } from '../errors.js';
import type { PaymentApprovalRequest, Policy } from './policy.js';

/**
 * What a person was shown and said yes to: one request (URL and method), at most this amount
 * and routing fee, to this payee, until the quote expires.
 */
export interface ApprovalTerms {
  /** The full URL that was quoted (query included), or `lightning:<payee>` for a bare invoice. */
  url: string;
  method: string;
  amountMsat: Msat;
  maxFeeMsat: Msat;
  /** The payee's node public key, from the quoted invoice. */
  payee: string;
  /** When the quoted invoice expires; the approval ends with it. */
  expiresAt: Date;
}

/** The payment about to be made, as the invoice met at payment time states it. */
export interface PaymentTerms {
  url: string;
  method: string;
  amountMsat: Msat;
  maxFeeMsat: Msat;
  payee: string;
  host: string;
}

// Approvals made by `grantApproval`, so that an object that merely looks like one (parsed
// from JSON, copied from a tool argument) never approves anything.
const granted = new WeakSet<object>();
const used = new WeakSet<object>();

/**
 * A person's yes to one payment, bound to the terms they saw. Made only by `grantApproval`
 * (code the model cannot reach), accepted once, and only for a payment within its terms.
 */
export type Approval = Readonly<ApprovalTerms> & { readonly [approvalBrand]: true };
declare const approvalBrand: unique symbol;

/** Records that a person approved these terms; pass the result as `approval` to the paid call. */
export function grantApproval(terms: ApprovalTerms): Approval {
  const approval = Object.freeze({
    url: terms.url,
    method: terms.method.toUpperCase(),
    amountMsat: terms.amountMsat,
    maxFeeMsat: terms.maxFeeMsat,
    payee: terms.payee.toLowerCase(),
    expiresAt: new Date(terms.expiresAt.getTime()),
  });
  granted.add(approval);
  return approval as unknown as Approval;
}

/**
 * Uses `approval` for this payment, or throws ApprovalRequiredError (nothing paid) saying why
 * it does not cover it. Any attempt uses it up: a person approves one payment, not a retry
 * at whatever price the server asks next.
 */
export function consumeApproval(
  approval: Approval,
  payment: PaymentTerms,
  now: number = Date.now(),
): void {
  const refuse = (reason: string) => {
    throw new ApprovalRequiredError(
      `Payment of ${formatMsat(payment.amountMsat)} to ${payment.host} needs a new approval: ${reason}. Nothing was paid.`,
      { paid: false, url: displayUrl(payment.url) },
    );
  };
  if (!granted.has(approval)) refuse('the approval given was not made by grantApproval');
  if (used.has(approval)) refuse('the approval was already used once');
  used.add(approval);
  if (approval.url !== payment.url || approval.method !== payment.method.toUpperCase()) {
    refuse(`the approval was given for ${approval.method} ${displayUrl(approval.url)}`);
  }
  if (now >= approval.expiresAt.getTime()) {
    refuse(`the approval expired at ${approval.expiresAt.toISOString()}`);
  }
  if (payment.payee.toLowerCase() !== approval.payee) {
    refuse('the invoice is payable to another node than the one approved');
  }
  if (payment.amountMsat > approval.amountMsat) {
    refuse(`the price rose above the ${formatMsat(approval.amountMsat)} that was approved`);
  }
  if (payment.maxFeeMsat > approval.maxFeeMsat) {
    refuse(
      `the routing fee limit is above the ${formatMsat(approval.maxFeeMsat)} that was approved`,
    );
  }
}

/**
 * Lets a payment through the operator's approval rule: nothing to do when the policy needs no
 * approval for its amount; else the person's approval given with the call (bound to its terms,
 * used once), else the policy's `approve` callback, else ApprovalRequiredError.
 */
export async function authorizePayment(
  policy: Policy,
  approval: Approval | undefined,
  payment: PaymentTerms & { description?: string | undefined },
): Promise<void> {
  if (!policy.needsApproval(payment.amountMsat)) return;
  if (approval !== undefined) {
    consumeApproval(approval, payment);
    return;
  }
  const bareInvoice = payment.url.startsWith('lightning:');
  const request: PaymentApprovalRequest = {
    url: bareInvoice ? payment.host : displayUrl(payment.url),
    host: payment.host,
    amountMsat: payment.amountMsat,
    maxFeeMsat: payment.maxFeeMsat,
    payee: payment.payee,
    ...(bareInvoice ? {} : { method: payment.method }),
    ...(payment.description === undefined ? {} : { description: payment.description }),
  };
  await policy.approve(request);
}

/** Whether `value` was made by `grantApproval` and not used yet. */
export function isUnusedApproval(value: unknown): value is Approval {
  return typeof value === 'object' && value !== null && granted.has(value) && !used.has(value);
}

// Queries can hold API keys: messages show origin and path only.
function displayUrl(url: string): string {
  if (!/^https?:/i.test(url)) return url;
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
