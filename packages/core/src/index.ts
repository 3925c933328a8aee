export { formatMsat, MSAT_PER_SAT, type Msat, msatToSats, satsToMsat } from './amount.js';
export * from './errors.js';
export { decodeBase64, encodeBase64 } from './base64.js';
export { type Caveat, caveatValues, macaroonExpiry, parseCaveat } from './caveats.js';
export { formatCredential, type L402Credential, parseCredential } from './credential.js';
export {
  addCaveats,
  type DecodedMacaroon,
  decodeIdentifier,
  decodeMacaroon,
  encodeIdentifier,
  type MacaroonIdentifier,
  mintMacaroon,
  verifyMacaroonSignature,
} from './macaroon.js';
export { type DecodedInvoice, decodeInvoice, isInvoiceExpired } from './invoice.js';
export {
  type L402Challenge,
  parseChallenges,
  parseL402Challenge,
  selectChallenge,
} from './parse-challenge.js';
export { bytesToHex, hexToBytes, isPreimageFor, sha256Hex } from './preimage.js';
export type {
  BitcoinNetwork,
  CreatedInvoice,
  CreateInvoiceRequest,
  PayInvoiceRequest,
  PayInvoiceResult,
  PaymentStatus,
  Wallet,
  WalletBudget,
} from './wallet.js';
export { DEFAULT_FEE_LIMIT, type FeeLimit, maxFeeFor } from './fee-limit.js';
export {
  createPaidFetch,
  DEFAULT_PAYMENT_TIMEOUT_MS,
  type PaidFetch,
  type PaidFetchEvent,
  type PaidFetchOptions,
  type PaidRequestInit,
  type PaidResponse,
  type PaymentReceipt,
} from './paid-fetch.js';
export type { PendingResolution, PriceQuote, PurchaseEvent } from './purchase.js';
export { currentRunBudget, withBudget } from './run-budget.js';
export {
  RUN_BUDGET_KEY,
  type RunBudgetContext,
  runBudgetFromContext,
} from './run-budget-key.js';
export {
  type Budget,
  type BudgetOptions,
  type BudgetStatus,
  createBudget,
  describeBudget,
  type Reservation,
  type ReservationState,
  type ReserveRequest,
} from './budget.js';
export {
  createPolicy,
  type HostPattern,
  isLoopbackHost,
  isPrivateAddress,
  type PaymentApprovalRequest,
  type Policy,
  type PolicyOptions,
  type PriceCheck,
} from './policy.js';
export {
  type ClaimResult,
  isTokenUsable,
  MemoryTokenStore,
  type RedactedToken,
  redactToken,
  type StoredToken,
  scopeCovers,
  type TokenScope,
  type TokenStore,
  tokenKey,
  tokenScope,
  tokenTarget,
} from './token-store.js';
export { FileTokenStore, type FileTokenStoreOptions } from './file-token-store.js';
export { createSingleFlight, type SingleFlight } from './single-flight.js';
export {
  createSpendLog,
  type SpendLog,
  type SpendLogEntry,
  type SpendLogOptions,
} from './spend-log.js';
export { type PaidInvoice, type PayInvoiceOptions, payInvoice } from './pay-invoice.js';
export { formatToolError } from './tool-error.js';
export { isToolErrorText } from './tool-outcome.js';
export {
  createL402Tools,
  type L402ToolName,
  type L402ToolSpec,
  type L402ToolsOptions,
  type ToolContext,
} from './tool-specs.js';
