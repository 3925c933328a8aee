/** A first-party caveat as aperture writes it: `key=value`. */
export interface Caveat {
  key: string;
  value: string;
}

const VALID_UNTIL_SUFFIX = '_valid_until';
// Beyond this a Date is invalid; a later expiry is the same as "never" for us.
const LATEST_DATE_MS = 8.64e15;

/** Splits at the first `=`, trimming spaces around key and value; undefined without a key. */
export function parseCaveat(text: string): Caveat | undefined {
  if (typeof text !== 'string') return undefined;
  const index = text.indexOf('=');
  if (index < 0) return undefined;
  const key = text.slice(0, index).trim();
  if (key.length === 0) return undefined;
  return { key, value: text.slice(index + 1).trim() };
}

/**
 * Values of every caveat with this key, in macaroon order. Later caveats may only narrow
 * earlier ones, so a verifier must check every value, not just the first or the last.
 */
export function caveatValues(caveats: string[], key: string): string[] {
  const values: string[] = [];
  // Only a key that parseCaveat can produce (not empty, no spaces around it) can match.
  const exact = key.length > 0 && key === key.trim();
  for (const text of caveats) {
    if (typeof text !== 'string') continue;
    const index = text.indexOf('=');
    // Spelled exactly `key=`: the common case, read without splitting the caveat.
    if (exact && index === key.length && text.startsWith(key)) {
      values.push(text.slice(index + 1).trim());
      continue;
    }
    // A key part no longer than `key` can only match when spelled exactly (trimming shortens it).
    if (exact && index <= key.length) continue;
    const caveat = parseCaveat(text);
    if (caveat !== undefined && caveat.key === key) values.push(caveat.value);
  }
  return values;
}

/**
 * The earliest `<service>_valid_until=<unix seconds>` of all caveats, or undefined if none.
 * A value that is not whole seconds counts as already expired: fail closed, as aperture does.
 * Takes caveat text or caveats `parseCaveat` already split, so a reader that split them for
 * its own checks does not split them again.
 */
export function macaroonExpiry(caveats: readonly (string | Caveat)[]): Date | undefined {
  let earliest: number | undefined;
  for (const item of caveats) {
    const caveat = expiringCaveat(item);
    if (caveat === undefined) continue;
    const milliseconds = /^\d+$/.test(caveat.value)
      ? Math.min(Number(caveat.value) * 1000, LATEST_DATE_MS)
      : 0;
    if (earliest === undefined || milliseconds < earliest) earliest = milliseconds;
  }
  return earliest === undefined ? undefined : new Date(earliest);
}

/** The caveat if its key ends with `_valid_until`; anything else (not a caveat too) is skipped. */
function expiringCaveat(item: string | Caveat): Caveat | undefined {
  let caveat: Caveat | undefined;
  if (typeof item === 'string') {
    // Only a caveat that contains the suffix can have a key ending with it.
    if (!item.includes(VALID_UNTIL_SUFFIX)) return undefined;
    caveat = parseCaveat(item);
  } else if (
    typeof item === 'object' &&
    item !== null &&
    typeof item.key === 'string' &&
    typeof item.value === 'string'
  ) {
    caveat = item;
  }
  return caveat?.key.endsWith(VALID_UNTIL_SUFFIX) ? caveat : undefined;
}
