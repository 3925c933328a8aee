import { type Wallet, WalletConfigError } from '@l402kit/core';
import type { ResearchApi, ResearchApiOptions } from '@l402kit/research-api';
import { createSandboxWallet, type SandboxWalletSetup } from '@l402kit/sandbox';

export interface ResearchSetupOptions {
  wallet?: Wallet;
  apiUrl?: string;
  env: Record<string, string | undefined>;
  sandboxBalanceSats?: number;
  startApi: (options: ResearchApiOptions) => Promise<ResearchApi>;
}

export interface ResearchSetup {
  wallet: Wallet;
  apiUrl: string;
  /** The API runs on this machine (loopback), so private addresses must be allowed. */
  local: boolean;
  close(): Promise<void>;
}

/**
 * Picks the wallet and the research API: a given or configured (L402KIT_WALLET) wallet, or a
 * funded sandbox wallet; a given or configured (RESEARCH_API_URL) API, or the example API
 * started in-process, selling on the sandbox network the wallet pays on.
 */
export async function prepareResearchSetup(options: ResearchSetupOptions): Promise<ResearchSetup> {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    let wallet = options.wallet;
    if (wallet === undefined && options.env.L402KIT_WALLET) {
      const { walletFromEnv } = await import('@l402kit/wallets');
      const configured = walletFromEnv(options.env);
      cleanups.push(() => configured.close?.());
      wallet = configured;
    }
    let sandbox = (wallet as { sandbox?: SandboxWalletSetup } | undefined)?.sandbox;
    if (wallet === undefined) {
      sandbox = createSandboxWallet({
        balanceSats: options.sandboxBalanceSats ?? 1_000,
        feeBaseMsat: 100n,
        feeRatePpm: 2_000,
      });
      wallet = sandbox.wallet;
    }
    let apiUrl = options.apiUrl ?? options.env.RESEARCH_API_URL;
    if (apiUrl === undefined) {
      if (sandbox === undefined) {
        throw new WalletConfigError(
          'A real wallet cannot pay the in-process example API (its seller lives on the sandbox network). Start the research API with a wallet that can receive and pass --api-url (or RESEARCH_API_URL).',
        );
      }
      const api = await options.startApi({ wallet: sandbox.merchant.wallet });
      cleanups.push(() => api.close());
      apiUrl = api.url;
    }
    const host = new URL(apiUrl).hostname;
    return {
      wallet,
      apiUrl: apiUrl.replace(/\/+$/, ''),
      local: ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
