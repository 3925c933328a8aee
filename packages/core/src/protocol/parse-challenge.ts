import { MalformedChallengeError } from '../errors.js';

/** One L402 (or legacy LSAT) challenge from a `WWW-Authenticate` value. */
export interface L402Challenge {
  /** Upper case, whatever case the server used. */
  scheme: 'L402' | 'LSAT';
  /** From `macaroon=` or, in the current Lightning Labs form, `token=`. As sent: base64 of either alphabet. */
  macaroon: string;
  invoice: string;
  version?: string;
  /** Every parameter of the challenge, names in lower case. */
  params: Record<string, string>;
}

/** A challenge as the tokenizer saw it, before deciding whether it is a usable L402 one. */
interface RawChallenge {
  scheme: string;
  params: Map<string, string>;
  duplicates: Set<string>;
  token68: string | undefined;
  /** An unterminated quoted string or a value where a name was expected. */
  broken: boolean;
}

// RFC 7230 tchar, by character code (the tokenizer reads codes, not one-character strings).
const TOKEN_CHARACTERS = new Uint8Array(128);
for (const character of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TOKEN_CHARACTERS[character.charCodeAt(0)] = 1;
}
const BACKSLASH = 92;
const COMMA = 44;

function isWhitespace(code: number): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10;
}

function isTokenCharacter(code: number): boolean {
  return code < 128 && TOKEN_CHARACTERS[code] === 1;
}

/**
 * A tokenizer for the RFC 7235 challenge list: `1#( auth-scheme [ 1*SP ( token68 / #auth-param ) ] )`.
 * Commas separate both challenges and parameters; an element that is `name =` continues the
 * current challenge, any other token starts a new one. Bare values run to the next comma or
 * whitespace, so unquoted base64 with `=`, `/` and `+` survives. Never throws.
 */
function tokenizeChallenges(header: string): RawChallenge[] {
  const challenges: RawChallenge[] = [];
  let current: RawChallenge | undefined;
  let index = 0;

  const peek = (offset = 0): string => header.charAt(index + offset);
  const code = (): number => header.charCodeAt(index);
  const skipWhitespace = (): void => {
    while (index < header.length && isWhitespace(code())) index++;
  };
  const readToken = (): string => {
    const start = index;
    while (index < header.length && isTokenCharacter(code())) index++;
    return header.slice(start, index);
  };
  const readBare = (): string => {
    const start = index;
    while (index < header.length && code() !== COMMA && !isWhitespace(code())) index++;
    return header.slice(start, index);
  };
  /** Reads a quoted-string starting at `"`; undefined if it never ends. */
  const readQuoted = (): string | undefined => {
    index++;
    let value = '';
    let quote = -1;
    while (index < header.length) {
      // Found again only once an escaped quote was passed: each character is looked at once,
      // however many backslashes a seller puts in.
      if (quote < index) quote = header.indexOf('"', index);
      if (quote < 0) {
        // Never closed: it runs to the end.
        index = header.length;
        break;
      }
      // The run up to the quote or a backslash is copied at once (invoices are long).
      let end = index;
      while (end < quote && header.charCodeAt(end) !== BACKSLASH) end++;
      value += header.slice(index, end);
      if (end === quote) {
        index = quote + 1;
        return value;
      }
      index = end + 1;
      // A backslash: the next character is taken as it is.
      if (index < header.length) {
        value += peek();
        index++;
      }
    }
    return undefined;
  };
  const readValue = (challenge: RawChallenge): string => {
    skipWhitespace();
    if (peek() !== '"') return readBare();
    const value = readQuoted();
    if (value === undefined) challenge.broken = true;
    return value ?? '';
  };
  const addParam = (challenge: RawChallenge, name: string, value: string): void => {
    const key = name.toLowerCase();
    if (challenge.params.has(key)) challenge.duplicates.add(key);
    else challenge.params.set(key, value);
  };
  /** Skips one element that cannot be read, keeping quoted commas inside it. */
  const skipElement = (): void => {
    while (index < header.length && peek() !== ',') {
      if (peek() === '"') readQuoted();
      else index++;
    }
  };
  /** Whether the text at `index` is `name BWS "="` (a parameter, not a new scheme). */
  const atParam = (): boolean => {
    const start = index;
    const name = readToken();
    skipWhitespace();
    const isParam = name.length > 0 && peek() === '=';
    index = start;
    return isParam;
  };

  while (index < header.length) {
    while (index < header.length && (code() === COMMA || isWhitespace(code()))) index++;
    if (index >= header.length) break;

    if (atParam()) {
      const name = readToken();
      skipWhitespace();
      index++; // "="
      if (current === undefined) {
        readValue({
          scheme: '',
          params: new Map(),
          duplicates: new Set(),
          token68: undefined,
          broken: false,
        });
      } else {
        addParam(current, name, readValue(current));
      }
      continue;
    }

    const scheme = readToken();
    if (scheme.length === 0) {
      if (current !== undefined) current.broken = true;
      skipElement();
      continue;
    }
    current = {
      scheme,
      params: new Map(),
      duplicates: new Set(),
      token68: undefined,
      broken: false,
    };
    challenges.push(current);

    // What follows the scheme on the same element: nothing, a token68, or the first parameter.
    skipWhitespace();
    if (index >= header.length || peek() === ',') continue;
    if (peek() === '"') {
      current.broken = true;
      readQuoted();
      continue;
    }
    const start = index;
    const name = readToken();
    skipWhitespace();
    if (name.length > 0 && peek() === '=') {
      index++; // "="
      skipWhitespace();
      if (peek() === '"') {
        addParam(current, name, readValue(current));
      } else {
        const value = readBare();
        // `abc==` is a padded token68; `abc=value` is a parameter.
        if (/^=*$/.test(value)) {
          index = start;
          current.token68 = readBare();
        } else {
          addParam(current, name, value);
        }
      }
    } else {
      index = start;
      current.token68 = readBare();
    }
  }
  return challenges;
}

function toScheme(scheme: string): 'L402' | 'LSAT' | undefined {
  const upper = scheme.toUpperCase();
  return upper === 'L402' || upper === 'LSAT' ? upper : undefined;
}

/** Why a raw L402/LSAT challenge cannot be used, or undefined if it can. */
function problemWith(raw: RawChallenge): string | undefined {
  if (raw.broken) return 'has an unterminated quoted string or an unreadable parameter';
  if (raw.token68 !== undefined) return 'has no parameters';
  const problems: string[] = [];
  for (const name of ['macaroon', 'token', 'invoice']) {
    if (raw.duplicates.has(name)) problems.push(`repeats the ${name} parameter`);
  }
  const macaroon = raw.params.get('macaroon');
  const token = raw.params.get('token');
  if (macaroon !== undefined && token !== undefined && macaroon !== token) {
    problems.push('gives different macaroon and token values');
  }
  if (!macaroon && !token) problems.push('has no macaroon (or token) parameter');
  if (!raw.params.get('invoice')) problems.push('has no invoice parameter');
  return problems.length === 0 ? undefined : problems.join(' and ');
}

/**
 * Every usable L402/LSAT challenge in a `WWW-Authenticate` value, in order. Other schemes
 * (Basic, Bearer, Payment, Digest, ...) and L402 challenges lacking a macaroon or invoice are
 * skipped; unknown parameters are kept in `params` and otherwise ignored.
 */
export function parseChallenges(header: string): L402Challenge[] {
  if (typeof header !== 'string') return [];
  const challenges: L402Challenge[] = [];
  for (const raw of tokenizeChallenges(header)) {
    const scheme = toScheme(raw.scheme);
    if (scheme === undefined || problemWith(raw) !== undefined) continue;
    const version = raw.params.get('version');
    challenges.push({
      scheme,
      macaroon: (raw.params.get('macaroon') || raw.params.get('token')) as string,
      invoice: raw.params.get('invoice') as string,
      ...(version === undefined ? {} : { version }),
      params: Object.fromEntries(raw.params),
    });
  }
  return challenges;
}

/** The challenge to answer: the first L402 one, else the first LSAT one. */
export function selectChallenge(challenges: L402Challenge[]): L402Challenge | undefined {
  return challenges.find((challenge) => challenge.scheme === 'L402') ?? challenges[0];
}

/**
 * The challenge to answer from a `WWW-Authenticate` value, or a MalformedChallengeError that
 * says what is missing. Messages name schemes and parameters, never values.
 */
export function parseL402Challenge(header: string | null | undefined): L402Challenge {
  if (typeof header !== 'string' || header.trim().length === 0) {
    throw new MalformedChallengeError('the 402 response has no WWW-Authenticate challenge');
  }
  const selected = selectChallenge(parseChallenges(header));
  if (selected !== undefined) return selected;

  const raws = tokenizeChallenges(header);
  const l402 =
    raws.find((raw) => toScheme(raw.scheme) === 'L402') ??
    raws.find((raw) => toScheme(raw.scheme) === 'LSAT');
  if (l402 !== undefined) {
    const scheme = toScheme(l402.scheme) as string;
    throw new MalformedChallengeError(
      `the ${scheme} challenge ${problemWith(l402) ?? 'is unusable'}`,
    );
  }
  const offered = [...new Set(raws.map((raw) => raw.scheme.slice(0, 32)))].slice(0, 5);
  throw new MalformedChallengeError(
    offered.length === 0
      ? 'WWW-Authenticate holds no readable challenge'
      : `WWW-Authenticate offers no L402 or LSAT challenge (offered: ${offered.join(', ')})`,
  );
}
