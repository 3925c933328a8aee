// Loopback reproductions of wallet APIs and a real NWC stack, for tests, examples and
// benchmarks. Published as `@l402kit/wallets/testing`, never from the main entry.
export { BackingWallet, type PaymentAttempt, type PaymentResult } from './backing-wallet.js';
export {
  type ClnRestReproduction,
  type ClnRestReproductionOptions,
  startClnRestReproduction,
} from './clnrest-reproduction.js';
export {
  type LnbitsReproduction,
  type LnbitsReproductionOptions,
  startLnbitsReproduction,
} from './lnbits-reproduction.js';
export {
  type LndRestReproduction,
  type LndRestReproductionOptions,
  startLndRestReproduction,
} from './lnd-rest-reproduction.js';
export {
  type LoopbackServer,
  type RecordedRequest,
  startLoopbackServer,
} from './loopback-server.js';
export { LOOPBACK_TLS } from './loopback-tls.js';
export { startNostrRelay, type TestNostrRelay } from './nostr-relay.js';
export {
  startTestNwcService,
  type TestNwcService,
  type TestNwcServiceOptions,
} from './nwc-wallet-service.js';
export {
  type PhoenixdReproduction,
  type PhoenixdReproductionOptions,
  startPhoenixdReproduction,
} from './phoenixd-reproduction.js';
