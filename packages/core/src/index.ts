export { formatMsat, MSAT_PER_SAT, type Msat, msatToSats, satsToMsat } from './amount.js';
export { budgetHost, canonicalHost, canonicalOrigin } from './canonical-host.js';
export * from './errors.js';
export { decodeBase64, encodeBase64 } from './protocol/base64.js';
export { type Caveat, caveatValues, macaroonExpiry, parseCaveat } from './protocol/caveats.js';
export { type CheckedChallenge, checkChallenge } from './protocol/check-challenge.js';
export {
  formatCredential,
  isSendableToken,
  type L402Credential,
  parseCredential,
} from './protocol/credential.js';
export {
  addCaveats,
  type DecodedMacaroon,
  decodeIdentifier,
  decodeMacaroon,
  encodeIdentifier,
  type MacaroonIdentifier,
  mintMacaroon,
  verifyMacaroon,
  verifyMacaroonSignature,
} from './protocol/macaroon.js';
export { type DecodedInvoice, decodeInvoice, isInvoiceExpired } from './protocol/invoice.js';
export {
  type L402Challenge,
  parseChallenges,
  parseL402Challenge,
  selectChallenge,
} from './protocol/parse-challenge.js';
export { bytesToHex, hexToBytes, isPreimageFor, sha256Hex } from './protocol/preimage.js';
export { type CheckedCredential, checkCredential } from './protocol/verify-credential.js';
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
export {
  checkFeeLimit,
  DEFAULT_FEE_LIMIT,
  type FeeLimit,
  feeToReserve,
  maxFeeFor,
} from './budget/fee-limit.js';
export {
  createPaidFetch,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_PAYMENT_TIMEOUT_MS,
  type PaidFetch,
  type PaidFetchEvent,
  type PaidFetchOptions,
  type PaidRequestInit,
  type PaidResponse,
  type PaymentReceipt,
} from './client/paid-fetch.js';
export type { PendingResolution, PriceQuote, PurchaseEvent } from './client/purchase.js';
export { currentRunBudget, withBudget } from './budget/run-budget.js';
export {
  type CatalogueOffer,
  catalogueOfferSchema,
  MAX_CATALOGUE_BYTES,
  OFFER_CATALOGUE_PATH,
  OFFER_CATALOGUE_VERSION,
  type OfferCatalogue,
  offerCatalogueSchema,
} from './client/offer-catalogue.js';
export {
  type ComparedOffer,
  type CompareOffersOptions,
  compareOffers,
  type OfferComparison,
  type OfferExclusion,
  type OfferFailure,
  type OfferNeed,
} from './client/compare-offers.js';
export {
  createOfferMarket,
  type OfferContext,
  type OfferMarket,
  type OfferMarketOptions,
} from './client/offer-market.js';
export {
  type Approval,
  type ApprovalTerms,
  consumeApproval,
  grantApproval,
  type PaymentTerms,
} from './client/approval.js';
export {
  RUN_BUDGET_KEY,
  type RunBudgetContext,
  runBudgetFromContext,
} from './budget/run-budget-key.js';
export {
  type Budget,
  type BudgetOptions,
  type BudgetStatus,
  createBudget,
  createSharedBudget,
  describeBudget,
  type Reservation,
  type ReservationState,
  type ReserveRequest,
} from './budget/budget.js';
export { createMemoryLedger, type MemoryLedgerOptions } from './budget/memory-ledger.js';
export { openSqliteLedger, type SqliteLedgerOptions } from './budget/sqlite-ledger.js';
export {
  defaultDatabasePath,
  openSqliteDatabase,
  type SqliteDatabase,
  type SqliteDatabaseOptions,
} from './database/sqlite-database.js';
export { SqliteTokenStore, type SqliteTokenStoreOptions } from './tokens/sqlite-token-store.js';
export { createSqliteSpendLog } from './client/sqlite-spend-log.js';
export {
  type DurableState,
  type DurableStateOptions,
  openDurableState,
} from './database/durable-state.js';
export { importLegacyFiles, type LegacyFiles } from './database/import-legacy-files.js';
export {
  LEDGER_OWNER,
  type OpenReservationsSettled,
  type SettleOpenReservationsOptions,
  settleOpenReservations,
} from './budget/settle-open-reservations.js';
export {
  checkLevelDefinition,
  findRefusal,
  formatWindow,
  MAX_MSAT,
  newReservation,
  type HostBooks,
  type LedgerEntry,
  type LedgerRefusal,
  type LedgerReserveRequest,
  type LevelBooks,
  type LevelDefinition,
  parseWindow,
  type ReserveOutcome,
  type SpendLedger,
} from './budget/spend-ledger.js';
export {
  createPolicy,
  type HostPattern,
  isLoopbackHost,
  isPrivateAddress,
  type PaymentApprovalRequest,
  type Policy,
  type PolicyOptions,
  type PriceCheck,
} from './client/policy.js';
export {
  type ClaimResult,
  coveringScopes,
  isTokenUsable,
  MemoryTokenStore,
  protectToken,
  type RedactedToken,
  redactToken,
  type StoredToken,
  scopeCovers,
  TokenIndex,
  type TokenScope,
  type TokenStore,
  tokenKey,
  tokenScope,
  tokenTarget,
  validateClaim,
  validateToken,
} from './tokens/token-store.js';
export { FileTokenStore, type FileTokenStoreOptions } from './tokens/file-token-store.js';
export {
  type PaymentLoop,
  PaymentLoopBook,
  type PaymentLoopReport,
  paymentLoopTarget,
  validatePaymentLoop,
} from './tokens/payment-loops.js';
// For token stores on SQL tables (the SQLite and PostgreSQL stores share these columns).
export {
  PAYMENT_LOOP_COLUMNS,
  type PaymentLoopRow,
  paymentLoopFromRow,
  paymentLoopRowValues,
  TOKEN_COLUMNS,
  type TokenRow,
  tokenFromRow,
  tokenRowValues,
} from './tokens/token-rows.js';
export type { PaymentLoopOptions } from './client/payment-loop-guard.js';
export { createSingleFlight, type SingleFlight } from './client/single-flight.js';
export {
  createSpendLog,
  type SpendLog,
  type SpendLogEntry,
  type SpendLogOptions,
  urlWithoutSecrets,
} from './client/spend-log.js';
export { type PaidInvoice, type PayInvoiceOptions, payInvoice } from './client/pay-invoice.js';
export { formatToolError } from './tools/tool-error.js';
export {
  createL402ToolApprovals,
  declinedText,
  type L402ToolApprovals,
  type PaymentToApprove,
  type ToolPaymentApproval,
  toolCallKey,
} from './tools/tool-approval.js';
export { isToolErrorText } from './tools/tool-outcome.js';
export {
  createL402Tools,
  type L402ToolName,
  type L402ToolSpec,
  type L402ToolsOptions,
  type ToolContext,
} from './tools/tool-specs.js';
