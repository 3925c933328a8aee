import { BlockList, isIP } from 'node:net';

// One host has many spellings: case, a trailing dot, IPv4 in hex or as one number, IPv6 with
// or without zeros, IPv4 inside IPv6 (::ffff:127.0.0.1). Anything that keys money or a
// credential by host uses these canonical forms, so spelling cannot open a new bucket.

/**
 * The canonical text of a host: lower case, punycode, no trailing dot, IPv4 in dotted
 * decimal, IPv6 compressed without brackets, IPv4-mapped IPv6 (`::ffff:7f00:1`) folded to the
 * IPv4 address. Accepts a host name, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address;
 * the port is dropped.
 */
export function canonicalHost(host: string): string {
  if (typeof host !== 'string' || host.trim() === '') {
    throw new RangeError('host must be a non-empty string');
  }
  const text = host.trim();
  // A bare IPv6 address has colons a URL would read as a port.
  const hostname = parseHostname(isIP(text) === 6 ? `[${text}]` : text) ?? text.toLowerCase();
  const canonical = canonicalHostname(hostname);
  if (canonical === '') throw new RangeError(`host ${JSON.stringify(host)} names no host`);
  return canonical;
}

/**
 * `scheme://host[:port]` of `url` with its host canonical (see `canonicalHost`): the key of
 * everything bought for that origin. Equals `url.origin` except for a trailing dot or an
 * IPv4-mapped IPv6 address.
 */
export function canonicalOrigin(url: URL): string {
  const hostname = url.hostname;
  const host = canonicalHostname(hostname);
  // Still an IPv6 address unless it was folded to IPv4.
  const bracketed = hostname.charCodeAt(0) === 91 && host.includes(':') ? `[${host}]` : host;
  const port = url.port;
  return `${url.protocol}//${bracketed}${port === '' ? '' : `:${port}`}`;
}

/**
 * `canonicalHost(url.hostname)` without parsing the host again: the URL parser already wrote
 * it in lower case, punycode and canonical IP forms.
 */
export function canonicalUrlHost(url: URL): string {
  const canonical = canonicalHostname(url.hostname);
  if (canonical === '') throw new RangeError(`host ${JSON.stringify(url.hostname)} names no host`);
  return canonical;
}

/**
 * The host a per-host budget counts under: `canonicalHost`, with every spelling of this
 * machine (`localhost`, `*.localhost`, 127.0.0.0/8, ::1) counted as one host, `localhost`.
 */
export function budgetHost(host: string): string {
  const canonical = canonicalHost(host);
  return isLoopbackName(canonical) ? 'localhost' : canonical;
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** `localhost`, a name under `.localhost`, or a loopback address, in canonical form. */
function isLoopbackName(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

// A URL's hostname (already lower case, IPv4 and IPv6 already canonical) made canonical.
function canonicalHostname(hostname: string): string {
  // The common case first: a name or IPv4 address without a trailing dot is canonical already.
  if (hostname.charCodeAt(0) !== 91 && !hostname.includes(':')) {
    return hostname.charCodeAt(hostname.length - 1) === 46
      ? hostname.replace(/\.+$/, '')
      : hostname;
  }
  const bare =
    hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(bare) === 6) return foldMappedIPv4(bare);
  return bare.replace(/\.+$/, '');
}

function parseHostname(authority: string): string | undefined {
  try {
    return new URL(`http://${authority}`).hostname;
  } catch {
    return undefined;
  }
}

// ::ffff:a.b.c.d reaches the IPv4 address a.b.c.d; the URL parser writes it as ::ffff:xxxx:xxxx.
function foldMappedIPv4(address: string): string {
  const compressed = parseHostname(`[${address}]`)?.slice(1, -1) ?? address;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (mapped === null) return compressed;
  const high = Number.parseInt(mapped[1]!, 16);
  const low = Number.parseInt(mapped[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}
