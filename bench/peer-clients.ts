import { fetch402 } from '@getalby/lightning-tools/402';
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
  '@getalby/lightning-tools fetch402',
  'l402 (axios interceptor)',
] as const;

export interface ClientOptions {
  /**
   * Sends the clients' requests instead of the network (every client gets the same one; the
   * lightning-tools helpers only call the global `fetch`, so the caller installs it there).
   */
  fetch?: typeof fetch;
  /** Wraps each client's whole call into its wallet, to time it. */
  aroundPayment?: <T>(pay: () => Promise<T>) => Promise<T>;
}

export function createClients(wallet: Wallet, options: ClientOptions = {}): ClientUnderTest[] {
  const around = options.aroundPayment ?? ((pay) => pay());
  return [
    l402kitClient(wallet, options.fetch, around),
    albyClient(clientNames[1], fetchWithL402, wallet, around),
    albyClient(clientNames[2], fetch402, wallet, around),
    l402AxiosClient(wallet, options.fetch, around),
  ];
}

type Around = NonNullable<ClientOptions['aroundPayment']>;

function l402kitClient(
  wallet: Wallet,
  transport: typeof fetch | undefined,
  around: Around,
): ClientUnderTest {
  const timedWallet: Wallet = {
    name: wallet.name,
    ...(wallet.network === undefined ? {} : { network: wallet.network }),
    payInvoice: (request) => around(() => wallet.payInvoice(request)),
  };
  const paidFetch = createPaidFetch({
    wallet: timedWallet,
    // No total: the benchmark buys thousands of tokens; the per-request cap still applies.
    budget: createBudget({ name: 'bench', maxSatsPerRequest: 1_000 }),
    policy: { allowPrivateNetwork: true, requireHttps: false },
    ...(transport === undefined ? {} : { fetch: transport }),
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
 * beside the invoice, so this shim reads them with lightning-tools' light decoder; a real
 * peer wallet (NWC) does that work on the wallet's side, so it is timed as wallet work.
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

function albyClient(
  name: string,
  helper: typeof fetchWithL402,
  wallet: Wallet,
  around: Around,
): ClientUnderTest {
  // lightning-tools 9 takes `{ payInvoice({ invoice }) -> { preimage, fees_paid } }` (an NWC client's shape).
  const albyWallet = {
    payInvoice: ({ invoice }: { invoice: string }) =>
      around(async () => {
        const result = await payWith(wallet, invoice);
        return { preimage: result.preimage, fees_paid: Number(result.feeMsat) };
      }),
  };
  return {
    name,
    async get(url) {
      const response = await helper(url, {}, { wallet: albyWallet });
      await response.arrayBuffer();
      return response.status;
    },
  };
}

function l402AxiosClient(
  wallet: Wallet,
  transport: typeof fetch | undefined,
  around: Around,
): ClientUnderTest {
  const instance = axios.create({
    validateStatus: (status) => status < 400,
    // axios' own fetch adapter, on the given fetch; its Node http adapter otherwise.
    ...(transport === undefined ? {} : { adapter: 'fetch', env: { fetch: transport } }),
  });
  const store = new L402MemoryTokenStore();
  setupL402Interceptor(
    // The same axios, seen once through its ESM and once through its CommonJS typings.
    instance as unknown as Parameters<typeof setupL402Interceptor>[0],
    {
      payInvoice: (invoice: string) =>
        around(async () => {
          const result = await payWith(wallet, invoice);
          return { preimage: result.preimage, success: true };
        }),
    },
    store,
  );
  return {
    name: clientNames[3],
    async get(url) {
      const response = await instance.get(url);
      return response.status;
    },
  };
}
