export type { RejectionReason, RequestScope } from './caveats.js';
export { PaywallConfigError } from './errors.js';
export { type HonoLikeContext, l402Middleware } from './hono.js';
export type { NodeMiddleware, NodeNext, PaidIncomingMessage } from './node-middleware.js';
export { toNodeListener } from './node-listener.js';
export type { Price, PriceContext, PriceValue, PaywallOptions } from './options.js';
export { type Authorization, createPaywall, type FetchHandler, type Paywall } from './paywall.js';
export type { PaymentRequiredBody } from './reply.js';
export {
  createSeller,
  type Seller,
  type SellerOptions,
  type SellerWorkContext,
} from './seller.js';
export type { PaidToken, VerificationResult } from './verify-credential.js';
