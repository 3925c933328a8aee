export {
  createSandboxWallet,
  type SandboxWalletOptions,
  type SandboxWalletSetup,
} from './create-sandbox-wallet.js';
export type { SandboxPayment, SandboxPaymentState } from './payment-ledger.js';
export {
  createSandboxNetwork,
  type SandboxNetwork,
  type SandboxNetworkOptions,
  type SandboxNodeOptions,
} from './sandbox-network.js';
export type {
  SandboxFault,
  SandboxFaultKind,
  SandboxFaultOptions,
  SandboxInvoice,
  SandboxInvoiceOptions,
  SandboxNode,
  SandboxPaymentAttempt,
} from './sandbox-types.js';
