import type { Wallet } from '@l402kit/core';
import {
  createSandboxNetwork,
  type SandboxNetwork,
  type SandboxNetworkOptions,
} from './sandbox-network.js';
import type { SandboxNode } from './sandbox-types.js';

export interface SandboxWalletOptions extends SandboxNetworkOptions {
  /** The payer's starting balance; 100,000 sats by default. */
  balanceSats?: number | bigint;
}

export interface SandboxWalletSetup {
  network: SandboxNetwork;
  /** The funded node whose wallet pays. */
  payer: SandboxNode;
  /** A node with no money that sells: give its invoices to the payer. */
  merchant: SandboxNode;
  /** `payer.wallet`. */
  wallet: Wallet;
}

/** The smallest useful sandbox: a funded payer and a merchant in one network. */
export function createSandboxWallet(options: SandboxWalletOptions = {}): SandboxWalletSetup {
  const { balanceSats = 100_000, ...networkOptions } = options;
  const network = createSandboxNetwork(networkOptions);
  const payer = network.createNode({ name: 'payer', balanceSats });
  const merchant = network.createNode({ name: 'merchant' });
  return { network, payer, merchant, wallet: payer.wallet };
}
