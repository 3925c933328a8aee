import { randomUUID } from 'node:crypto';
import { formatMsat, msatToSats } from '../amount.js';
import { type Approval, type ApprovalTerms, grantApproval } from '../client/approval.js';
import { ApprovalDeniedError } from '../errors.js';
import type { L402ToolSpec, ToolContext } from './tool-specs.js';
import { formatToolError } from './tool-error.js';

/**
 * What a person is asked to approve before a tool call pays: plain JSON (sats as numbers,
 * dates as ISO text), so a framework can store it in its checkpoint or send it to a UI.
 */
export interface ToolPaymentApproval {
  /** Names this question: an answer given for another id is not an answer to it. */
  id: string;
  toolName: string;
  /** Origin and path (no query), or `lightning:<payee>` for a bare invoice. */
  url: string;
  host: string;
  method?: string;
  /** The quoted price, exact (may have a fraction of a sat). */
  amountSats: number;
  /** The most the routing fee may add. */
  maxFeeSats: number;
  /** The payee's node public key. */
  payee: string;
  /** The invoice description: what the seller says is being bought. */
  description?: string;
  /** The approval lapses with the quoted invoice. */
  expiresAt: string;
  /** One sentence for the person, e.g. `Pay 25 sats (+ up to 2 sats routing fee) to api.example for "Report"?` */
  message: string;
}

/** A quote waiting for a person: what they see, and the terms their yes is bound to. */
export interface PaymentToApprove {
  request: ToolPaymentApproval;
  terms: ApprovalTerms;
}

interface Waiting extends PaymentToApprove {
  toolName: string;
  inputKey: string;
}

export interface L402ToolApprovals {
  /**
   * Whether this tool call must wait for a person, and what to show them. Quotes the price
   * without paying; undefined when nothing above the approval threshold would be paid (free,
   * a token already held, under the threshold, refused anyway, or approvals go to the
   * policy's own callback). A call already waiting keeps the quote its person was shown, so
   * asking again (frameworks re-check on resume) never replaces what they approved. With
   * `resumed` (the framework says a decision for this call already exists) nothing is quoted
   * anew: a call whose question is not known here (another process, a replay) gets no
   * approval and is refused at payment time, never paid at a price nobody saw. Never throws:
   * a failed quote asks nothing, and the payment itself still refuses to pay above the
   * threshold without an approval.
   */
  check(
    toolName: string,
    input: Record<string, unknown>,
    callId: string,
    context?: ToolContext,
    options?: { resumed?: boolean },
  ): Promise<ToolPaymentApproval | undefined>;
  /** The question waiting for this call, if any. */
  pending(callId: string): ToolPaymentApproval | undefined;
  /**
   * The person said yes to this call: its one-use Approval, bound to the quote they were
   * shown, for the tool to pay with. Undefined when nothing waits for this call with this
   * tool and input. The call is forgotten, so a replay finds nothing.
   */
  approve(callId: string, toolName: string, input: Record<string, unknown>): Approval | undefined;
  /** The person said no: forgets the call and returns the tool result that tells the model. */
  decline(callId: string, toolName?: string): string;
}

/** At most this many calls wait for a person at once; the oldest is forgotten first. */
const MAX_WAITING = 1_000;

/**
 * The calls of one tool set that wait for a person's decision, keyed by the framework's tool
 * call id. The decision itself only ever comes from the framework's approval flow, never from
 * tool arguments.
 */
export function createL402ToolApprovals(specs: L402ToolSpec[]): L402ToolApprovals {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const waiting = new Map<string, Waiting>();
  const forgetExpired = () => {
    const now = Date.now();
    for (const [callId, entry] of waiting) {
      if (entry.terms.expiresAt.getTime() <= now) waiting.delete(callId);
    }
    while (waiting.size >= MAX_WAITING) waiting.delete(waiting.keys().next().value as string);
  };
  return {
    async check(toolName, input, callId, context, options) {
      const inputKey = canonical(input);
      const existing = waiting.get(callId);
      if (existing && existing.toolName === toolName && existing.inputKey === inputKey) {
        return existing.request;
      }
      if (options?.resumed) return undefined;
      const spec = byName.get(toolName);
      if (!spec?.quotePayment) return undefined;
      let payment: PaymentToApprove | undefined;
      try {
        payment = await spec.quotePayment(spec.inputSchema.parse(input), context);
      } catch {
        return undefined;
      }
      if (!payment) return undefined;
      forgetExpired();
      waiting.set(callId, { ...payment, toolName, inputKey });
      return payment.request;
    },
    pending(callId) {
      return waiting.get(callId)?.request;
    },
    approve(callId, toolName, input) {
      const entry = waiting.get(callId);
      if (!entry || entry.toolName !== toolName || entry.inputKey !== canonical(input)) {
        return undefined;
      }
      waiting.delete(callId);
      return grantApproval(entry.terms);
    },
    decline(callId, toolName) {
      const entry = waiting.get(callId);
      waiting.delete(callId);
      return declinedText(toolName ?? entry?.toolName ?? 'l402_fetch', entry?.request);
    },
  };
}

/** The tool result that tells the model a person declined the payment. */
export function declinedText(toolName: string, request?: ToolPaymentApproval): string {
  const what = request
    ? `paying ${formatSats(request.amountSats)} to ${request.host}`
    : 'this payment';
  return formatToolError(
    toolName,
    new ApprovalDeniedError(`A person declined ${what}.`, {
      paid: false,
      ...(request ? { url: request.url } : {}),
    }),
  );
}

/** The question and terms for a quoted payment. */
export function paymentToApprove(
  toolName: string,
  details: Omit<
    ToolPaymentApproval,
    'id' | 'toolName' | 'amountSats' | 'maxFeeSats' | 'expiresAt' | 'message'
  >,
  terms: ApprovalTerms,
): PaymentToApprove {
  const amountSats = msatToSats(terms.amountMsat, 'exact');
  const maxFeeSats = msatToSats(terms.maxFeeMsat, 'exact');
  const fee = terms.maxFeeMsat > 0n ? ` (+ up to ${formatMsat(terms.maxFeeMsat)} routing fee)` : '';
  // The seller writes the description: one short line, no control characters, for a person.
  const description =
    details.description === undefined ? undefined : oneLine(details.description, 200);
  const title = description ? ` for "${description}"` : '';
  return {
    request: Object.freeze({
      id: randomUUID(),
      toolName,
      ...details,
      ...(description === undefined ? {} : { description }),
      amountSats,
      maxFeeSats,
      expiresAt: terms.expiresAt.toISOString(),
      message: `Pay ${formatMsat(terms.amountMsat)}${fee} to ${details.host}${title}?`,
    }),
    terms,
  };
}

function oneLine(text: string, maxChars: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat;
}

function formatSats(sats: number): string {
  return `${sats} ${sats === 1 ? 'sat' : 'sats'}`;
}

/** A key for a tool call by tool name and input, the same for the same input in any key order. */
export function toolCallKey(toolName: string, input: unknown): string {
  return `${toolName}:${canonical(input)}`;
}

// The same input in any key order gives the same key.
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
