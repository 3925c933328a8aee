export type { RejectionReason, RequestScope } from './caveats.js';
export { PaywallConfigError } from './errors.js';
export { type HonoLikeContext, l402Middleware } from './hono.js';
export type { NodeMiddleware, NodeNext, PaidIncomingMessage } from './node-middleware.js';
export type { Price, PriceValue, PaywallOptions } from './options.js';
export { type Authorization, createPaywall, type FetchHandler, type Paywall } from './paywall.js';
export type { PaymentRequiredBody } from './reply.js';
export type { PaidToken, VerificationResult } from './verify-credential.js';
