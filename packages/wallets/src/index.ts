export { type ClnWallet, type ClnWalletOptions, createClnWallet } from './cln-wallet.js';
export {
  createLnbitsWallet,
  type LnbitsWallet,
  type LnbitsWalletOptions,
} from './lnbits-wallet.js';
export { createLndWallet, type LndWallet, type LndWalletOptions } from './lnd-wallet.js';
export { createNwcWallet, type NwcWallet, type NwcWalletOptions } from './nwc-wallet.js';
export {
  createPhoenixdWallet,
  type PhoenixdWallet,
  type PhoenixdWalletOptions,
} from './phoenixd-wallet.js';
export {
  type SandboxUrlWallet,
  WALLET_ENV_VARIABLE,
  type WalletFromUrlOptions,
  walletFromEnv,
  walletFromUrl,
} from './wallet-from-url.js';
export {
  LNBITS_DEFAULT_FEE_RESERVE,
  NWC_DEFAULT_WORST_CASE_FEE,
  PHOENIXD_WORST_CASE_FEE,
} from './worst-case-fee.js';
