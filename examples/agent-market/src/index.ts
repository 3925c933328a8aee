export {
  buildLedger,
  formatLedger,
  type Ledger,
  type LedgerBalance,
  type LedgerSnapshot,
  type LedgerTransfer,
  snapshotBalances,
} from './ledger.js';
export { OfflineAnalystModel } from './offline-analyst-model.js';
export {
  type ResearchSeller,
  type ResearchSellerOptions,
  type SellerFailure,
  startResearchSeller,
} from './research-seller.js';
export {
  type AnalystOptions,
  DEFAULT_QUESTION,
  DEFAULT_SELLERS,
  type Market,
  type MarketOptions,
  type MarketProgress,
  type MarketResult,
  type MarketSetupOptions,
  runAnalyst,
  runMarket,
  type SellerSpec,
  startMarket,
} from './run-market.js';
