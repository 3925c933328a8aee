import { formatMsat } from '../amount.js';
import { L402Error } from '../errors.js';
import { redactUrlsIn } from '../redact.js';

// What a model may sensibly do next, by error code.
const nextSteps: Record<string, string> = {
  BUDGET_EXCEEDED:
    'Do not retry this purchase: pick a cheaper source or answer with what you have.',
  PRICE_ABOVE_CAP: 'Look for a cheaper source, or answer with what you have.',
  POLICY_DENIED: 'This URL is not allowed by the operator; do not retry it.',
  APPROVAL_DENIED: 'The payment was declined; do not retry it unless the user asks you to.',
  APPROVAL_REQUIRED:
    'A person must approve this payment first: call the tool again with the same arguments to ask them.',
  AMOUNTLESS_INVOICE:
    'The server asks for an open amount, which is never paid; use another source.',
  INVOICE_EXPIRED: 'Request the URL again to get a fresh invoice.',
  INVOICE_MISMATCH: 'The server sent an inconsistent challenge; use another source.',
  OPAQUE_TOKEN:
    'The server sells tokens l402kit cannot check against its invoice; use another source unless the operator allows this host.',
  NETWORK_MISMATCH: 'The server wants payment on another Bitcoin network; use another source.',
  PAYMENT_OUTCOME_UNKNOWN:
    'Do not pay for this again now; the wallet will settle it. Use another source meanwhile.',
  PAID_NOT_DELIVERED: 'The token is kept: retrying the same request costs nothing.',
  PAYMENT_LOOP: 'The server kept asking for payment after being paid; do not retry it.',
  PAYMENT_LOOP_REFUSED:
    'This server took a payment before without delivering; it will not be paid again. Use another source.',
  REQUEST_FAILED: 'Check the URL; you may retry once.',
  BODY_NOT_REPLAYABLE: 'Send a smaller request body.',
};

/** An error as text for a model: what went wrong, whether money moved, what to do next. */
export function formatToolError(toolName: string, error: unknown): string {
  if (!(error instanceof L402Error)) {
    const message = redactUrlsIn(error instanceof Error ? error.message : String(error));
    return `${toolName} failed: ${message}. Nothing was paid.`;
  }
  const next =
    nextSteps[error.code] ??
    (error.code.startsWith('MALFORMED')
      ? 'The server sent a payment challenge that cannot be read; use another source.'
      : error.paid === false
        ? 'You may try another source.'
        : '');
  return [`${toolName} failed (${error.code}): ${error.message}`, error.paymentSummary, next]
    .filter(Boolean)
    .join(' ');
}

export function describeAmount(amountMsat: bigint, feeMsat: bigint): string {
  return feeMsat > 0n
    ? `${formatMsat(amountMsat)} + ${formatMsat(feeMsat)} routing fee`
    : formatMsat(amountMsat);
}
