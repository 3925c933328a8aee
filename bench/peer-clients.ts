import { fetchWithL402 } from '@getalby/lightning-tools/402/l402';
import { Invoice } from '@getalby/lightning-tools/bolt11';
import {
  createBudget,
  createPaidFetch,
  DEFAULT_FEE_LIMIT,
  maxFeeFor,
  type Msat,
  type Wallet,
} from '@l402kit/core';
import axios from 'axios';
import { MemoryTokenStore as L402MemoryTokenStore, setupL402Interceptor } from 'l402';

/** One L402 client as the benchmarks drive it: a GET that pays if asked, body read. */
export interface ClientUnderTest {
  name: string;
  /** Resolves with the final HTTP status; rejects on the client's own errors. */
  get(url: string): Promise<number>;
}

/** The peers on the npm registry that run offline here, plus l402kit itself. */
export const clientNames = [
  'l402kit',
  '@getalby/lightning-tools fetchWithL402',
  'l402 (axios interceptor)',
] as const;

export function createClients(wallet: Wallet): ClientUnderTest[] {
  return [l402kitClient(wallet), albyClient(wallet), l402AxiosClient(wallet)];
}

function l402kitClient(wallet: Wallet): ClientUnderTest {
  const paidFetch = createPaidFetch({
    wallet,
    // No total: the benchmark buys thousands of tokens; the per-request cap still applies.
    budget: createBudget({ name: 'bench', maxSatsPerRequest: 1_000 }),
    policy: { allowPrivateNetwork: true, requireHttps: false },
  });
  return {
    name: clientNames[0],
    async get(url) {
      const response = await paidFetch(url);
      await response.arrayBuffer();
      return response.status;
    },
  };
}

/**
 * The wallet a peer hands an invoice to. Core's wallet interface wants the amount and hash
 * beside the invoice, so this shim reads them with lightning-tools' light decoder (no
 * signature check, the cheapest at hand); the sandbox then decodes and checks it as any
 * node would. The shim's cost is counted against the peers.
 */
async function payWith(wallet: Wallet, invoice: string) {
  const decoded = new Invoice({ pr: invoice });
  const amountMsat: Msat = BigInt(decoded.satoshi) * 1_000n;
  return wallet.payInvoice({
    invoice,
    amountMsat,
    paymentHash: decoded.paymentHash,
    maxFeeMsat: maxFeeFor(amountMsat, DEFAULT_FEE_LIMIT),
    timeoutMs: 60_000,
  });
}

function albyClient(wallet: Wallet): ClientUnderTest {
  // lightning-tools 9 takes `{ payInvoice({ invoice }) -> { preimage, fees_paid } }` (an NWC client's shape).
  const albyWallet = {
    async payInvoice({ invoice }: { invoice: string }) {
      const result = await payWith(wallet, invoice);
      return { preimage: result.preimage, fees_paid: Number(result.feeMsat) };
    },
  };
  return {
    name: clientNames[1],
    async get(url) {
      const response = await fetchWithL402(url, {}, { wallet: albyWallet });
      await response.arrayBuffer();
      return response.status;
    },
  };
}

function l402AxiosClient(wallet: Wallet): ClientUnderTest {
  const instance = axios.create({ validateStatus: (status) => status < 400 });
  const store = new L402MemoryTokenStore();
  setupL402Interceptor(
    // The same axios, seen once through its ESM and once through its CommonJS typings.
    instance as unknown as Parameters<typeof setupL402Interceptor>[0],
    {
      async payInvoice(invoice: string) {
        const result = await payWith(wallet, invoice);
        return { preimage: result.preimage, success: true };
      },
    },
    store,
  );
  return {
    name: clientNames[2],
    async get(url) {
      const response = await instance.get(url);
      return response.status;
    },
  };
}
