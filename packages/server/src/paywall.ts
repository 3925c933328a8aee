import {
  bytesToHex,
  decodeInvoice,
  InvoiceMismatchError,
  type Msat,
  mintMacaroon,
} from '@l402kit/core';
import { mintCaveats, type RequestScope } from './caveats.js';
import type { Decision } from './decision.js';
import { createNodeMiddleware, type NodeMiddleware } from './node-middleware.js';
import { type PaywallOptions, priceOf, resolveOptions } from './options.js';
import { paymentRequiredReply, toFetchResponse, unavailableReply } from './reply.js';
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
    return verifyAuthorization(header, {
      rootKey: options.rootKey,
      serviceName: options.serviceName,
      scope: { ...scope, tier: options.tier },
      now: options.now(),
    });
  }

  async function issue(scope: RequestScope, priceRequest: Request): Promise<Decision> {
    let priceMsat: Msat;
    try {
      priceMsat = await priceOf(options.price, priceRequest);
    } catch (error) {
      report(error);
      return { allow: false, reply: unavailableReply('price_unavailable') };
    }
    if (priceMsat === 0n) return { allow: true, token: undefined };
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
      invoice = created.invoice;
      // The hash in the macaroon must be the one the buyer pays: read it from the invoice itself.
      const decoded = decodeInvoice(invoice);
      if (decoded.amountMsat !== priceMsat) {
        throw new InvoiceMismatchError(
          `the wallet created an invoice for ${String(decoded.amountMsat)} msat, not ${priceMsat}`,
        );
      }
      paymentHash = decoded.paymentHash;
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
      caveats: mintCaveats(options, scope, options.now()),
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

  /** The one decision every adapter uses; `priceRequest` lets Node hand the body over lazily. */
  async function decide(request: Request, priceRequest?: () => Request): Promise<Decision> {
    const scope = scopeOf(request);
    const result = verify(request.headers.get('authorization'), scope);
    if (result.ok) return { allow: true, token: result.token };
    if (priceRequest !== undefined) return issue(scope, priceRequest());
    // A free request (price 0) still reaches the handler, so the price function reads a copy.
    const readsBody = typeof options.price === 'function' && request.body !== null;
    return issue(scope, readsBody ? request.clone() : request);
  }

  const paywall: Paywall = {
    serviceName: options.serviceName,
    handler(inner) {
      return async (request) => {
        const decision = await decide(request);
        if (!decision.allow) return toFetchResponse(decision.reply);
        return inner(request, { token: decision.token });
      };
    },
    nodeMiddleware() {
      return createNodeMiddleware(decide);
    },
    async authorize(request) {
      const decision = await decide(request);
      return decision.allow
        ? { ok: true, token: decision.token }
        : { ok: false, response: toFetchResponse(decision.reply) };
    },
    verifyCredential(input, scope = {}) {
      const isRequest = input instanceof Request;
      // Without a request or a scope, tokens bound to a path or method cannot match.
      const own = isRequest ? scopeOf(input) : { path: '', method: '' };
      const header = isRequest ? input.headers.get('authorization') : input;
      return verify(header, {
        path: scope.path ?? own.path,
        method: scope.method ?? own.method,
        ...(scope.capability === undefined ? {} : { capability: scope.capability }),
      });
    },
  };
  return paywall;
}

function scopeOf(request: Request): RequestScope {
  return { path: new URL(request.url).pathname, method: request.method };
}
