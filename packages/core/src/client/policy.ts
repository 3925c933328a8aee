import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { formatMsat, type Msat, satsToMsat } from '../amount.js';
import { canonicalHost, canonicalUrlHost } from '../canonical-host.js';
import {
  ApprovalDeniedError,
  ApprovalRequiredError,
  PolicyDeniedError,
  PriceAboveCapError,
  RequestFailedError,
} from '../errors.js';

/** What the operator's approval callback (or a person, through an adapter) is shown before a payment. */
export interface PaymentApprovalRequest {
  /** Origin and path (no query), or `lightning:<payee>` for a bare invoice. */
  url: string;
  host: string;
  /** HTTP method; absent for a bare invoice. */
  method?: string;
  amountMsat: Msat;
  maxFeeMsat: Msat;
  /** The payee's node public key, from the invoice. */
  payee?: string;
  description?: string;
}

/**
 * A host pattern: an exact host name, a glob where a leading `*.` matches any subdomain
 * (not the bare domain) and any other `*` matches within one label, or a RegExp tested
 * against the canonical host name (`canonicalHost`: lower case, no trailing dot, IPv6 without
 * brackets, IPv4-mapped IPv6 as IPv4). `*` alone matches every host.
 * Ports are not part of a pattern.
 */
export type HostPattern = string | RegExp;

export interface PolicyOptions {
  /** When set, only these hosts may be fetched or paid. */
  allowedHosts?: HostPattern[];
  /** Never these hosts; checked before `allowedHosts`. */
  deniedHosts?: HostPattern[];
  /** Refuse plain http except to localhost and loopback addresses. Default true. */
  requireHttps?: boolean;
  /**
   * Allow loopback, private (RFC 1918, CGNAT, ULA), link-local (cloud metadata) and other
   * non-public addresses. Default false: agents take URLs from untrusted text.
   */
  allowPrivateNetwork?: boolean;
  /** The highest invoice amount that may be paid for one request, in sats. */
  maxSatsPerRequest?: number | bigint;
  maxMsatPerRequest?: Msat;
  /**
   * A person approves every payment above this many sats: through `approve` when it is set,
   * else through the agent framework's own human-in-the-loop (the l402kit adapters ask before
   * paying), else the payment is refused (APPROVAL_REQUIRED). Default: no threshold.
   */
  approveAboveSats?: number | bigint;
  /**
   * The operator's approval, e.g. a prompt to a person. Only `true` approves; false, any
   * other value or a throw denies. Tool input can never reach this function. Asked for every
   * payment, or only above `approveAboveSats` when that is set.
   */
  approve?: (payment: PaymentApprovalRequest) => boolean | Promise<boolean>;
  /**
   * Hosts whose tokens may be paid for although they are not L402 macaroons (opaque
   * `macaroon=`/`token=` values, e.g. from `@getalby/lightning-tools`). Default: none. RISK:
   * l402kit then cannot check that the invoice belongs to the token (the macaroon's payment
   * hash), so such a server, or anyone able to answer in its name, can have any invoice paid
   * (one that pays someone else, or buys nothing) and the token may open nothing. Caps, budgets
   * and the preimage check still apply. Name only servers you trust, reached over https.
   */
  allowOpaqueTokens?: HostPattern[];
  /**
   * Resolves a host name to all its addresses; defaults to `dns.lookup`. For tests and custom
   * DNS. With the private-network check on, the paid fetch connects only to addresses it
   * returned (see `Policy.resolveForConnect`).
   */
  resolveHost?: (hostname: string) => Promise<string[]>;
}

export interface PriceCheck {
  url?: string;
  host: string;
  amountMsat: Msat;
}

export interface Policy {
  /** Throws `PolicyDeniedError` naming the rule when the URL may not be fetched. */
  checkUrl(url: URL): Promise<void>;
  /** Throws `PriceAboveCapError` when the invoice amount is above the per-request cap. */
  checkPrice(price: PriceCheck): void;
  /** Whether a payment of this amount needs approval (by the callback or a person). */
  needsApproval(amountMsat: Msat): boolean;
  /**
   * Whether approvals are asked of the policy's own `approve` callback; when false, an adapter
   * asks a person through its framework for the payments that `needsApproval`.
   */
  readonly hasApprovalCallback: boolean;
  /**
   * Asks the `approve` callback when approval is needed; throws `ApprovalDeniedError` unless it
   * approves, or `ApprovalRequiredError` when approval is needed and there is no callback.
   */
  approve(payment: PaymentApprovalRequest): Promise<void>;
  /**
   * Resolves a host name for a connection: the addresses that may be connected to, or a
   * `PolicyDeniedError` when one of them may not be reached. `createPolicy` sets it unless
   * `allowPrivateNetwork` is on; the paid fetch then makes every connection (first request,
   * paid retry, each redirect hop) through it, so the address connected to is the address
   * checked, whatever DNS answers in between (no rebinding).
   */
  resolveForConnect?(hostname: string): Promise<string[]>;
  /** Whether a token from `host` that is not a macaroon may be paid for (see `allowOpaqueTokens`). */
  allowsOpaqueToken?(host: string): boolean;
}

// Everything that is not a public unicast address, as far as an agent is concerned.
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", includes 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, includes cloud metadata 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and IPv4-compatible
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, includes fd00:ec2::254 metadata
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for loopback, private, link-local and other addresses that are not public unicast. IPv4-mapped IPv6 included. */
export function isPrivateAddress(address: string): boolean {
  // Zone ids (fe80::1%eth0) are not part of the address.
  const bare = stripBrackets(address).split('%')[0]!;
  const family = isIP(bare);
  if (family === 4) return nonPublic.check(bare, 'ipv4');
  if (family !== 6) return false;
  // BlockList matches IPv4-mapped IPv6 (::ffff:a.b.c.d) against the IPv4 rules itself.
  if (nonPublic.check(bare, 'ipv6')) return true;
  // Well-known NAT64 prefix 64:ff9b::/96 reaches the embedded IPv4 address.
  const embedded = nat64Embedded(bare);
  return embedded !== undefined && nonPublic.check(embedded, 'ipv4');
}

/** How `resolveForConnect`'s refusals begin; the rest is the rule. */
export const CONNECT_DENIAL = 'Policy denied a connection: ';

/** localhost names and loopback literals, which may use plain http. */
export function isLoopbackHost(hostname: string): boolean {
  const host = stripBrackets(hostname.toLowerCase()).replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

export function createPolicy(options: PolicyOptions = {}): Policy {
  // Copied now so that nothing changes the rules after the operator set them.
  const allowed = options.allowedHosts?.map(compileHostPattern);
  const denied = (options.deniedHosts ?? []).map(compileHostPattern);
  const requireHttps = options.requireHttps ?? true;
  const allowPrivateNetwork = options.allowPrivateNetwork ?? false;
  const maxPerRequest = smaller(
    options.maxSatsPerRequest === undefined ? undefined : satsToMsat(options.maxSatsPerRequest),
    options.maxMsatPerRequest,
  );
  const approveCallback = options.approve;
  const approveAbove =
    options.approveAboveSats === undefined ? undefined : satsToMsat(options.approveAboveSats);
  const resolveHost = options.resolveHost ?? resolveAll;
  const opaqueTokenHosts = (options.allowOpaqueTokens ?? []).map(compileHostPattern);

  /** The addresses `hostname` may be connected to, or the rule that refuses it (private networks). */
  async function vetHost(hostname: string): Promise<{ addresses: string[] } | { rule: string }> {
    const host = canonicalHost(hostname);
    if (isIP(host) !== 0) {
      return isPrivateAddress(host)
        ? { rule: `${host} is a private network address (allowPrivateNetwork)` }
        : { addresses: [host] };
    }
    if (isLoopbackHost(host)) return { rule: `${host} is a loopback name (allowPrivateNetwork)` };
    // The name as it will be connected to: a trailing dot changes what a resolver looks up.
    const addresses = await resolveHost(stripBrackets(hostname));
    const privateAddress = addresses.find(isPrivateAddress);
    if (privateAddress !== undefined) {
      return {
        rule: `${host} resolves to the private network address ${privateAddress} (allowPrivateNetwork)`,
      };
    }
    return { addresses };
  }

  const policy: Policy = {
    async checkUrl(url) {
      // The URL text is made only for an error: this runs before every request.
      const deny = (rule: string) => {
        const where = safeUrl(url);
        throw new PolicyDeniedError(`Policy denied ${where}: ${rule}. Nothing was paid.`, {
          paid: false,
          url: where,
        });
      };
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        deny(`only http and https URLs may be fetched, not ${url.protocol}`);
      }
      // Rules see the canonical host, so no spelling of a denied host slips past them.
      const host = canonicalUrlHost(url);
      if (requireHttps && url.protocol === 'http:' && !isLoopbackHost(host)) {
        deny('https is required (requireHttps)');
      }
      if (denied.some((matches) => matches(host))) deny(`host ${host} is in deniedHosts`);
      if (allowed !== undefined && !allowed.some((matches) => matches(host))) {
        deny(`host ${host} is not in allowedHosts`);
      }
      if (allowPrivateNetwork) return;
      let vetted: Awaited<ReturnType<typeof vetHost>>;
      try {
        vetted = await vetHost(url.hostname);
      } catch (cause) {
        throw new RequestFailedError(`Could not resolve ${host}. Nothing was paid.`, {
          paid: false,
          url: safeUrl(url),
          cause,
        });
      }
      if ('rule' in vetted) deny(vetted.rule);
    },

    allowsOpaqueToken(host) {
      const canonical = canonicalHost(host);
      return opaqueTokenHosts.some((matches) => matches(canonical));
    },

    checkPrice(price) {
      if (maxPerRequest !== undefined && price.amountMsat > maxPerRequest) {
        throw new PriceAboveCapError(
          `The price ${formatMsat(price.amountMsat)} asked by ${price.host} is above the policy cap of ${formatMsat(maxPerRequest)} per request. Nothing was paid.`,
          { paid: false, url: price.url },
        );
      }
    },

    needsApproval(amountMsat) {
      return approveAbove === undefined ? approveCallback !== undefined : amountMsat > approveAbove;
    },

    hasApprovalCallback: approveCallback !== undefined,

    async approve(payment) {
      if (!policy.needsApproval(payment.amountMsat)) return;
      if (approveCallback === undefined) {
        throw new ApprovalRequiredError(
          `Payment of ${formatMsat(payment.amountMsat)} to ${payment.host} needs a person's approval (above ${formatMsat(approveAbove ?? 0n)}) and none was given. Nothing was paid.`,
          { paid: false, url: payment.url },
        );
      }
      const denied = (reason: string, cause?: unknown) =>
        new ApprovalDeniedError(
          `Payment of ${formatMsat(payment.amountMsat)} to ${payment.host} ${reason}. Nothing was paid.`,
          { paid: false, url: payment.url, cause },
        );
      let answer: unknown;
      try {
        answer = await approveCallback(Object.freeze({ ...payment }));
      } catch (cause) {
        throw denied('was not approved: the approval callback failed', cause);
      }
      if (answer !== true) throw denied('was not approved');
    },
  };
  if (!allowPrivateNetwork) {
    policy.resolveForConnect = async (hostname) => {
      const vetted = await vetHost(hostname);
      if ('rule' in vetted) {
        throw new PolicyDeniedError(`${CONNECT_DENIAL}${vetted.rule}.`, { paid: false });
      }
      return vetted.addresses;
    };
  }
  return Object.freeze(policy);
}

function compileHostPattern(pattern: HostPattern): (host: string) => boolean {
  if (pattern instanceof RegExp) {
    // A copy without the g/y flags, whose lastIndex would make test() stateful.
    const regexp = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    return (host) => regexp.test(host);
  }
  const text = pattern.includes('*')
    ? stripBrackets(pattern.trim().toLowerCase()).replace(/\.$/, '')
    : canonicalPattern(pattern);
  if (text === '*') return () => true;
  if (!text.includes('*')) return (host) => host.replace(/\.$/, '') === text;
  const toRegExpSource = (part: string) =>
    part
      .split('*')
      .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^.]*');
  const source = text.startsWith('*.')
    ? `^(?:[^.]+\\.)+${toRegExpSource(text.slice(2))}$`
    : `^${toRegExpSource(text)}$`;
  const regexp = new RegExp(source);
  return (host) => regexp.test(host.replace(/\.$/, ''));
}

async function resolveAll(hostname: string): Promise<string[]> {
  const results = await lookup(hostname, { all: true, verbatim: true });
  return results.map((result) => result.address);
}

const nat64 = new BlockList();
nat64.addSubnet('64:ff9b::', 96, 'ipv6');

// The well-known NAT64 prefix carries an IPv4 address in its last 32 bits.
function nat64Embedded(address: string): string | undefined {
  if (!nat64.check(address, 'ipv6')) return undefined;
  const groups = expandIPv6(address);
  const high = groups[6]!;
  const low = groups[7]!;
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

// Eight 16-bit groups of a valid IPv6 address (as checked by isIP), dotted-quad tail included.
function expandIPv6(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const start = parse(head);
  const end = tail === undefined ? [] : parse(tail);
  return [...start, ...Array<number>(8 - start.length - end.length).fill(0), ...end];
}

// An exact host pattern spelled the way `checkUrl` spells hosts; one that names no host matches none.
function canonicalPattern(pattern: string): string {
  try {
    return canonicalHost(pattern);
  } catch {
    return pattern;
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

// Queries can hold API keys: messages show origin and path only.
function safeUrl(url: URL): string {
  return url.origin === 'null' ? url.protocol : `${url.origin}${url.pathname}`;
}

function smaller(a: Msat | undefined, b: Msat | undefined): Msat | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}
