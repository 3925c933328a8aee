// Reads the text the l402kit tools return to a model. The offline planner sees exactly what a
// real model sees, so it has to understand prices and budgets from the same words.

/** "1,234.567 sats" or "1 sat" as msat. */
export function parseSatsText(text: string): bigint | undefined {
  const match = /^([\d,]+)(?:\.(\d{1,3}))?\s+sats?$/.exec(text.trim());
  if (!match) return undefined;
  const whole = BigInt(match[1]!.replaceAll(',', ''));
  const fraction = BigInt((match[2] ?? '').padEnd(3, '0'));
  return whole * 1000n + fraction;
}

const amount = '([\\d,]+(?:\\.\\d{1,3})? sats?)';

/** The most one payment may cost now, from any text that carries a budget description. */
export function availableFromText(text: string): bigint | undefined {
  const match = new RegExp(`most one payment may cost now is ${amount}`).exec(text);
  return match ? parseSatsText(match[1]!) : undefined;
}

/** What is left of the (first) budget described in the text, and its limit. */
export function budgetFromText(text: string): { leftMsat: bigint; limitMsat: bigint } | undefined {
  const match = new RegExp(`${amount} left of ${amount}`).exec(text);
  if (!match) return undefined;
  return { leftMsat: parseSatsText(match[1]!)!, limitMsat: parseSatsText(match[2]!)! };
}

/** The price an `l402_quote` result states; undefined when it failed or the URL is free. */
export function quotedPriceFromText(text: string): bigint | undefined {
  const match = new RegExp(` costs ${amount}`).exec(text);
  return match ? parseSatsText(match[1]!) : undefined;
}

/** A failed tool call: `<tool> failed (<CODE>): ...`. */
export function toolErrorFromText(text: string): { code: string; message: string } | undefined {
  const match = /^\w+ failed(?: \(([A-Z_]+)\))?: ([\s\S]*)$/.exec(text.trim());
  return match ? { code: match[1] ?? 'ERROR', message: match[2]! } : undefined;
}

/**
 * An `l402_fetch` result: status, payment and budget lines, then the body between the BEGIN
 * and END lines of this call's boundary. Only the lines outside that block are l402kit's.
 */
export function fetchedFromText(
  text: string,
): { status: number; paid: boolean; body: string } | undefined {
  const status = /^HTTP (\d{3})/.exec(text);
  if (!status) return undefined;
  const block =
    /^--- BEGIN UNTRUSTED CONTENT ([0-9a-f]+) ---\n([\s\S]*?)\n--- END UNTRUSTED CONTENT \1 ---$/m.exec(
      text,
    );
  const facts = block ? text.slice(0, block.index) : text;
  return { status: Number(status[1]), paid: /^Paid /m.test(facts), body: block?.[2] ?? '' };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
