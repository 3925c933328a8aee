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
  REQUEST_TIMEOUT: 'The server is slow or stalled; you may retry once or use another source.',
  BODY_NOT_REPLAYABLE: 'Send a smaller request body.',
};

// For the tools that read an invoice the model supplied: no server is involved.
const invoiceNextSteps: Record<string, string> = {
  MALFORMED_INVOICE: 'Check the invoice text: it must be a whole BOLT11 invoice (lnbc...).',
  AMOUNTLESS_INVOICE: 'An invoice without an amount is never paid; ask for one with an amount.',
  INVOICE_EXPIRED: 'Ask for a fresh invoice.',
  NETWORK_MISMATCH: 'The invoice is for another Bitcoin network; this wallet cannot pay it.',
};
const INVOICE_TOOLS = new Set(['decode_invoice', 'pay_invoice']);

/**
 * An error as text for a model: what went wrong, whether money moved, what to do next, each
 * said once and as whole sentences (a message that already says whether anything was paid
 * gets no second summary).
 */
export function formatToolError(toolName: string, error: unknown): string {
  if (!(error instanceof L402Error)) {
    const message = sentence(redactUrlsIn(error instanceof Error ? error.message : String(error)));
    return `${toolName} failed: ${message}${saysNothingPaid(message) ? '' : ' Nothing was paid.'}`;
  }
  const message = sentence(error.message);
  const summary = statesPayment(message, error) ? undefined : error.paymentSummary;
  return [
    `${toolName} failed (${error.code}): ${message}`,
    summary,
    nextStep(toolName, error, message),
  ]
    .filter(Boolean)
    .join(' ');
}

function nextStep(toolName: string, error: L402Error, message: string): string {
  if (INVOICE_TOOLS.has(toolName)) {
    const step =
      invoiceNextSteps[error.code.startsWith('MALFORMED') ? 'MALFORMED_INVOICE' : error.code];
    if (step) return step;
  }
  // The message already says the token is kept (and so that a retry is free).
  if (/token (bought earlier )?is kept/i.test(message))
    return 'You may retry the same request once.';
  return (
    nextSteps[error.code] ??
    (error.code.startsWith('MALFORMED')
      ? 'The server sent a payment challenge that cannot be read; use another source.'
      : error.paid === false
        ? 'You may try another source.'
        : '')
  );
}

/** Whether `message` already says what `paymentSummary` would. */
function statesPayment(message: string, error: L402Error): boolean {
  if (error.paid === false) return saysNothingPaid(message);
  if (error.paid === true) return message.includes(`Paid ${formatMsat(error.amountMsat)}`);
  return /may have been made/i.test(message);
}

function saysNothingPaid(message: string): boolean {
  return /nothing (was|has been) paid/i.test(message);
}

/** `text` as a sentence: capitalised, ending with a full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

export function describeAmount(amountMsat: bigint, feeMsat: bigint): string {
  return feeMsat > 0n
    ? `${formatMsat(amountMsat)} + ${formatMsat(feeMsat)} routing fee`
    : formatMsat(amountMsat);
}
