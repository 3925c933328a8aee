export { type Article, articles, type Dataset, datasets } from './documents.js';
export {
  type LnbitsWalletServer,
  type LnbitsWalletServerOptions,
  startLnbitsWalletServer,
} from './lnbits-wallet-server.js';
export { type Provider, providers } from './providers.js';
export { type ResearchApi, type ResearchApiOptions, startResearchApi } from './research-api.js';
export {
  type ResearchSandbox,
  type ResearchSandboxOptions,
  startResearchSandbox,
} from './research-sandbox.js';
export { type SearchResult, search } from './search.js';
