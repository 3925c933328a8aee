// The paywall prices, binds and checks one spelling of each path. Routers disagree about the
// others: Express matches `/cheap/../premium` and `/a//b` as written, WHATWG URL (Fetch, Hono
// on Node) resolves the dots first, and Hono decodes `%70remium` to `/premium`. A path that
// one of them could read as another resource is refused; escapes are put in one form.

// ASCII characters that stay percent-encoded: the path percent-encode set of the URL standard
// (with `^`, which newer runtimes encode too), plus the separators `/ ? # % \`.
const STAYS_ENCODED = new Set([...' "#%/<>?\\^`{}']);

/**
 * The canonical form of a request path, or undefined when routers could read it as different
 * resources: a `.` or `..` segment (also as `%2e`), an empty segment (`//`), a backslash, a
 * malformed escape, or a path that does not start with `/`. Escapes of plain characters are
 * decoded (`%7E` -> `~`), the others upper-cased; non-ASCII and special characters are
 * percent-encoded. The result is stable: WHATWG URL parsing leaves it as it is.
 */
export function canonicalPath(rawPath: string): string | undefined {
  if (!rawPath.startsWith('/') || rawPath.includes('\\')) return undefined;
  const segments = rawPath.slice(1).split('/');
  const canonical: string[] = [];
  for (const [index, segment] of segments.entries()) {
    const text = canonicalSegment(segment);
    if (text === undefined || text === '.' || text === '..') return undefined;
    // A trailing slash is an ordinary path; an empty segment elsewhere is `//`.
    if (text === '' && index < segments.length - 1) return undefined;
    canonical.push(text);
  }
  return `/${canonical.join('/')}`;
}

const encoder = new TextEncoder();

// PLAIN[code] is 1 for the printable ASCII characters that are written as themselves.
const PLAIN = new Uint8Array(128);
for (let code = 0x21; code < 0x7f; code++) {
  if (!STAYS_ENCODED.has(String.fromCharCode(code))) PLAIN[code] = 1;
}

/** A segment as bytes (escapes decoded), then written back with the one spelling per byte. */
function canonicalSegment(segment: string): string | undefined {
  // Most segments are plain ASCII with no escapes: already canonical, every byte as itself.
  let plain = true;
  for (let index = 0; index < segment.length && plain; index++) {
    const code = segment.charCodeAt(index);
    plain = code < 128 && PLAIN[code] === 1;
  }
  if (plain) return segment;
  const bytes: number[] = [];
  for (let index = 0; index < segment.length; index++) {
    if (segment[index] === '%') {
      const hex = segment.slice(index + 1, index + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else {
      const character = String.fromCodePoint(segment.codePointAt(index)!);
      index += character.length - 1;
      bytes.push(...encoder.encode(character));
    }
  }
  let text = '';
  for (const byte of bytes) {
    const character = String.fromCharCode(byte);
    const plain = byte > 0x20 && byte < 0x7f && !STAYS_ENCODED.has(character);
    text += plain ? character : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return text;
}

/**
 * Splits a request target as Node receives it (origin form `/p?q`, or absolute form
 * `http://host/p?q` from a proxy client) into its raw path and its query (with `?`, or empty).
 * The path is undefined for the asterisk form and other targets without a path.
 */
export function splitTarget(target: string): { path: string | undefined; query: string } {
  const withoutOrigin = target.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '');
  const end = withoutOrigin.search(/[?#]/);
  const path = end === -1 ? withoutOrigin : withoutOrigin.slice(0, end);
  const rest = end === -1 ? '' : withoutOrigin.slice(end);
  const query = rest.startsWith('?') ? rest.split('#')[0]! : '';
  return { path: path.startsWith('/') ? path : undefined, query };
}
