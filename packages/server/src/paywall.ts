import {
  bytesToHex,
  type CreatedInvoice,
  InvoiceMismatchError,
  type Msat,
  mintMacaroon,
  sha256Hex,
} from '@l402kit/core';
import { mintCaveats, type RequestScope } from './caveats.js';
import type { Decision } from './decision.js';
import { createNodeMiddleware, type NodeMiddleware } from './node-middleware.js';
import { type PaywallOptions, priceOf, priceToMsat, resolveOptions } from './options.js';
import {
  invalidPathReply,
  paymentRequiredReply,
  toFetchResponse,
  unavailableReply,
} from './reply.js';
import { canonicalPath } from './request-path.js';
import {
  type PaidToken,
  type VerificationResult,
  verifyAuthorization,
} from './verify-credential.js';

/** The inner handler learns which token paid for the request (undefined when it was free). */
export type FetchHandler = (
  request: Request,
  context: { token: PaidToken | undefined },
) => Response | Promise<Response>;

export type Authorization =
  | { ok: true; token: PaidToken | undefined }
  | { ok: false; response: Response };

export interface Paywall {
  readonly serviceName: string;
  /** Wraps a Fetch-API handler (Hono, Bun, Deno, workers): paid requests reach `inner`. */
  handler(inner: FetchHandler): (request: Request) => Promise<Response>;
  /** `(req, res, next)` for Express or a plain `http.createServer` wrapper. */
  nodeMiddleware(): NodeMiddleware;
  /** Lets the request through or gives the response to send (a 402 with a fresh invoice). */
  authorize(request: Request): Promise<Authorization>;
  /** Checks a credential without issuing a challenge; `scope` defaults to the request's own. */
  verifyCredential(
    input: Request | string | null | undefined,
    scope?: Partial<RequestScope>,
  ): VerificationResult;
}

export function createPaywall(paywallOptions: PaywallOptions): Paywall {
  const options = resolveOptions(paywallOptions);

  function report(error: unknown): void {
    try {
      options.onError(error);
    } catch {
      // A failing logger must not turn a 402 into a crash.
    }
  }

  function verify(header: string | null | undefined, scope: RequestScope): VerificationResult {
    const { requestKey, ...rest } = scope;
    return verifyAuthorization(header, {
      rootKey: options.rootKey,
      serviceName: options.serviceName,
      scope: {
        ...rest,
        tier: options.tier,
        ...(requestKey === undefined ? {} : { requestDigest: requestDigest(requestKey) }),
      },
      now: options.now(),
    });
  }

  async function issue(scope: RequestScope, priceMsat: Msat): Promise<Decision> {
    const description = options.description ?? `Access to ${options.serviceName}`;
    let paymentHash: string;
    let invoice: string;
    try {
      const created = await options.wallet.createInvoice({
        amountMsat: priceMsat,
        description,
        ...(options.invoiceExpirySeconds === undefined
          ? {}
          : { expirySeconds: options.invoiceExpirySeconds }),
      });
      // The node that created the invoice is the authority on its hash and amount: the invoice
      // it just made is not decoded again (that was a fifth of minting a 402). A buyer's client
      // checks the invoice against the macaroon before paying.
      paymentHash = paymentHashOf(created);
      invoice = created.invoice;
    } catch (error) {
      report(error);
      return { allow: false, reply: unavailableReply('invoice_unavailable') };
    }
    const macaroon = mintMacaroon({
      rootKey: options.rootKey,
      identifier: {
        version: 0,
        paymentHash,
        tokenId: bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(32))),
      },
      location: options.location,
      caveats: mintCaveats(
        options,
        {
          ...scope,
          priceMsat,
          ...(scope.requestKey === undefined
            ? {}
            : { requestDigest: requestDigest(scope.requestKey) }),
        },
        options.now(),
      ),
    });
    return {
      allow: false,
      reply: paymentRequiredReply({
        macaroon,
        invoice,
        priceMsat,
        description,
        serviceName: options.serviceName,
        offerLsat: options.offerLsat,
      }),
    };
  }

  /**
   * The one decision every adapter uses. The request is priced every time, paid or not: a
   * token opens it only when it paid at least the current price, otherwise the buyer gets a
   * fresh 402 at that price. `priceRequest` gives the price function the request with a body
   * the handler still receives (a clone, or Node's body read lazily and given back).
   */
  async function decide(request: Request, priceRequest: () => Request): Promise<Decision> {
    const url = new URL(request.url);
    const path = canonicalPath(url.pathname);
    if (path === undefined) return { allow: false, reply: invalidPathReply() };
    const scope: RequestScope = { path, method: request.method };
    let priceMsat: Msat;
    try {
      const pricing = pricedAt(priceRequest(), url, path);
      if (options.requestKey !== undefined) {
        scope.requestKey = await keyOf(options.requestKey, pricing);
      }
      priceMsat = await priceOf(options.price, pricing, { requestKey: scope.requestKey });
    } catch (error) {
      report(error);
      return { allow: false, reply: unavailableReply('price_unavailable') };
    }
    const header = request.headers.get('authorization');
    if (priceMsat === 0n) {
      // Free: a valid token still tells the handler who is calling.
      const result = verify(header, scope);
      return { allow: true, token: result.ok ? result.token : undefined };
    }
    const result = verify(header, { ...scope, priceMsat });
    if (result.ok) return { allow: true, token: result.token };
    return issue(scope, priceMsat);
  }

  /** For the Fetch adapters: a free request still reaches the handler, so price reads a copy. */
  function fetchPriceRequest(request: Request): () => Request {
    const reads = typeof options.price === 'function' || options.requestKey !== undefined;
    return () => (reads && request.body !== null ? request.clone() : request);
  }

  const paywall: Paywall = {
    serviceName: options.serviceName,
    handler(inner) {
      return async (request) => {
        const decision = await decide(request, fetchPriceRequest(request));
        if (!decision.allow) return toFetchResponse(decision.reply);
        return inner(request, { token: decision.token });
      };
    },
    nodeMiddleware() {
      return createNodeMiddleware(decide);
    },
    async authorize(request) {
      const decision = await decide(request, fetchPriceRequest(request));
      return decision.allow
        ? { ok: true, token: decision.token }
        : { ok: false, response: toFetchResponse(decision.reply) };
    },
    verifyCredential(input, scope = {}) {
      const request = input instanceof Request ? input : undefined;
      const header = input instanceof Request ? input.headers.get('authorization') : input;
      // Without a request or a scope, tokens bound to a path or method cannot match.
      let path = '';
      const rawPath = scope.path ?? (request && new URL(request.url).pathname);
      if (rawPath !== undefined) {
        const canonical = canonicalPath(rawPath);
        if (canonical === undefined) return { ok: false, reason: 'invalid_path' };
        path = canonical;
      }
      // A price function may need the body and may be async: then the caller passes the price.
      const priceMsat =
        scope.priceMsat ??
        (typeof options.price === 'function' ? undefined : priceToMsat(options.price));
      if (priceMsat === undefined) return { ok: false, reason: 'price_unknown' };
      // The key may need the body and may be async too: the caller passes it.
      if (options.requestKey !== undefined && scope.requestKey === undefined) {
        return { ok: false, reason: 'request_unknown' };
      }
      return verify(header, {
        path,
        method: scope.method ?? request?.method ?? '',
        priceMsat,
        ...(scope.capability === undefined ? {} : { capability: scope.capability }),
        ...(scope.requestKey === undefined ? {} : { requestKey: scope.requestKey }),
      });
    },
  };
  return paywall;
}

/** The request's key, from a copy when it has a body (the price function reads the request too). */
async function keyOf(
  requestKey: (request: Request) => string | Promise<string>,
  request: Request,
): Promise<string> {
  const key = await requestKey(request.body === null ? request : request.clone());
  if (typeof key !== 'string') throw new TypeError('requestKey must return a string');
  return key;
}

/** What the `<service>_request` caveat holds: the key's sha256, so the key itself stays private. */
function requestDigest(requestKey: string): string {
  return sha256Hex(new TextEncoder().encode(requestKey));
}

/** The price function sees the canonical path, the one the token will be bound to. */
function pricedAt(request: Request, url: URL, path: string): Request {
  if (url.pathname === path) return request;
  const canonical = new URL(url);
  canonical.pathname = path;
  return new Request(canonical, request);
}

const PAYMENT_HASH = /^[0-9a-fA-F]{64}$/;

/** The wallet's answer, checked for shape: an invoice and 32 bytes of hex. */
function paymentHashOf(created: CreatedInvoice): string {
  if (typeof created?.invoice !== 'string' || typeof created.paymentHash !== 'string') {
    throw new InvoiceMismatchError('the wallet answered without an invoice and its payment hash');
  }
  if (!PAYMENT_HASH.test(created.paymentHash)) {
    throw new InvoiceMismatchError('the wallet gave a payment hash that is not 32 bytes of hex');
  }
  return created.paymentHash.toLowerCase();
}
