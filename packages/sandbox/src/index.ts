export {
  createSandboxWallet,
  type SandboxWalletOptions,
  type SandboxWalletSetup,
} from './create-sandbox-wallet.js';
export type {
  SandboxFault,
  SandboxFaultKind,
  SandboxFaultOptions,
  SandboxPaymentAttempt,
} from './faults.js';
export type { SandboxPayment, SandboxPaymentState } from './payment-ledger.js';
export {
  createSandboxNetwork,
  type SandboxNetwork,
  type SandboxNetworkOptions,
  type SandboxNodeOptions,
} from './sandbox-network.js';
export type { SandboxInvoice, SandboxInvoiceOptions, SandboxNode } from './sandbox-node.js';
