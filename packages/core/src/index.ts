export { formatMsat, MSAT_PER_SAT, type Msat, msatToSats, satsToMsat } from './amount.js';
export * from './errors.js';
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
