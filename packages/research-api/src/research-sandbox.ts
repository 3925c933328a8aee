import {
  createSandboxNetwork,
  type SandboxNetwork,
  type SandboxNetworkOptions,
  type SandboxNode,
} from '@l402kit/sandbox';
import { type LnbitsWalletServer, startLnbitsWalletServer } from './lnbits-wallet-server.js';
import { type ResearchApi, startResearchApi } from './research-api.js';

export interface ResearchSandboxOptions {
  /** The buyer's starting balance; default 10,000 sats. */
  balanceSats?: number;
  /** Routing fees of the sandbox network; default 100 msat + 2,000 ppm (0.2 %). */
  network?: SandboxNetworkOptions;
  /** Also serve the buyer's wallet over an LNbits-compatible HTTP API for other processes. */
  serveWallet?: boolean;
  apiPort?: number;
  walletPort?: number;
}

export interface ResearchSandbox {
  network: SandboxNetwork;
  /** The funded buyer: pay with `buyer.wallet`. */
  buyer: SandboxNode;
  /** The research API's node: it receives the payments. */
  seller: SandboxNode;
  api: ResearchApi;
  /** Present with `serveWallet`. */
  walletServer?: LnbitsWalletServer;
  close(): Promise<void>;
}

/** A sandbox Lightning network with a funded buyer, and the research API selling on it. */
export async function startResearchSandbox(
  options: ResearchSandboxOptions = {},
): Promise<ResearchSandbox> {
  const network = createSandboxNetwork(options.network ?? { feeBaseMsat: 100n, feeRatePpm: 2_000 });
  const buyer = network.createNode({ name: 'buyer', balanceSats: options.balanceSats ?? 10_000 });
  const seller = network.createNode({ name: 'research-api' });
  const api = await startResearchApi({ wallet: seller.wallet, port: options.apiPort });
  let walletServer: LnbitsWalletServer | undefined;
  try {
    if (options.serveWallet) {
      walletServer = await startLnbitsWalletServer({
        wallet: buyer.wallet,
        port: options.walletPort,
      });
    }
  } catch (error) {
    await api.close();
    throw error;
  }
  return {
    network,
    buyer,
    seller,
    api,
    walletServer,
    close: async () => {
      await Promise.all([api.close(), walletServer?.close()]);
    },
  };
}
