// URLs carry secrets in their userinfo (`user:password@`), query (`?api_key=`) and fragment
// (`#access_token=`); undici puts the full URL into its error text. Everything l402kit says
// (messages, causes, events, tool results) goes through here first.

/** Origin and path only: userinfo, query and fragment may carry secrets. */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

// A URL in running text: a scheme, `://`, then anything up to white space or a quote.
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]*/gi;

/** `text` with every URL in it cut to scheme, host and path (no userinfo, query or fragment). */
export function redactUrlsIn(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (found) => {
    // A URL that ends a sentence keeps its full stop outside.
    const trailing = /[.,;:)\]]+$/.exec(found)?.[0] ?? '';
    return redactUrlText(found.slice(0, found.length - trailing.length)) + trailing;
  });
}

/** One URL (valid or not) as text, without its userinfo, query and fragment. */
export function redactUrlText(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1').replace(/[?#][\s\S]*$/, '');
}

/**
 * `text` with the URL a caller gave (as a string, URL or Request; maybe one that does not
 * parse, which the generic redaction cannot delimit) cut to its scheme, host and path.
 */
export function redactInputIn(text: string, input: unknown): string {
  const given =
    typeof input === 'string'
      ? input
      : input instanceof URL
        ? input.href
        : input instanceof Request
          ? input.url
          : undefined;
  if (!given || !text.includes(given)) return text;
  return text.replaceAll(given, redactUrlText(given));
}

/**
 * `cause` as it may be kept on an error l402kit throws: unchanged when no text in it (message,
 * stack, string properties, nested causes) carries a URL secret, otherwise a copy (same name
 * and code) with those texts redacted, since loggers print a cause chain in full. `input` is
 * the URL as the caller gave it, when known.
 */
export function redactCause(cause: unknown, input?: unknown): unknown {
  const redact = (text: string) => redactUrlsIn(redactInputIn(text, input));
  const redactValue = (key: string, value: unknown): unknown => {
    if (typeof value !== 'string') return value;
    // Properties holding a whole URL (Node's ERR_INVALID_URL `input`), even an invalid one.
    return /^(input|url|href)$/i.test(key) ? redactUrlText(value) : redact(value);
  };
  const visit = (error: unknown, depth: number): unknown => {
    if (typeof error === 'string') return redact(error);
    if (!(error instanceof Error) || depth > 4) return error;
    const inner = (error as { cause?: unknown }).cause;
    const innerRedacted = inner === undefined ? undefined : visit(inner, depth + 1);
    const entries = Object.entries(error);
    const clean =
      redact(error.message) === error.message &&
      redact(error.stack ?? '') === (error.stack ?? '') &&
      entries.every(([key, value]) => redactValue(key, value) === value) &&
      innerRedacted === inner;
    if (clean) return error;
    const copy = new Error(redact(error.message));
    copy.name = error.name;
    copy.stack = redact(error.stack ?? '');
    for (const [key, value] of entries) {
      (copy as unknown as Record<string, unknown>)[key] = redactValue(key, value);
    }
    if (inner !== undefined) {
      Object.defineProperty(copy, 'cause', {
        value: innerRedacted,
        configurable: true,
        writable: true,
      });
    }
    return copy;
  };
  return visit(cause, 0);
}
