import { createECDH, randomBytes } from 'node:crypto';
import type {
  Nip47PayInvoiceRequest,
  Nip47Transaction,
  NWCWalletServiceRequestHandler,
  NWCWalletServiceRequestHandlerError,
} from '@getalby/sdk/nwc';
import {
  InsufficientBalanceError,
  type Msat,
  PaymentFailedError,
  PaymentOutcomeUnknownError,
  type Wallet,
} from '@l402kit/core';
import { ensureWebSocket } from '../ensure-websocket.js';
import { BackingWallet } from './backing-wallet.js';

export interface TestNwcServiceOptions {
  /** The relay both sides use, e.g. from startNostrRelay(). */
  relayUrl: string;
  /** The wallet that really pays (a sandbox node's wallet). */
  wallet: Wallet;
  /**
   * A connection budget, as Alby Hub gives each app: beyond it pay_invoice is QUOTA_EXCEEDED,
   * and the service offers get_budget.
   */
  budgetMsat?: Msat;
  /**
   * The most the backing wallet may spend on fees for one payment (NIP-47 has no fee limit);
   * also counted against `budgetMsat` before paying. Default Alby Hub's reserve, max(10 sat, 1 %).
   */
  maxFeeMsat?: (amountMsat: Msat) => Msat;
}

type Method =
  | 'pay_invoice'
  | 'get_balance'
  | 'make_invoice'
  | 'lookup_invoice'
  | 'get_info'
  | 'get_budget';

export interface TestNwcService {
  /** `nostr+walletconnect://...` for the client: holds the client secret. */
  connectionUrl: string;
  walletPubkey: string;
  /** NIP-47 methods received, oldest first. */
  received: Method[];
  /** While true, pay_invoice pays but never answers (a wallet that stalls or crashes). */
  silent: boolean;
  /** Answers the next `times` requests of `method` with this NIP-47 error instead. */
  failNext(method: Method, error: { code: string; message: string }, times?: number): void;
  /** Spent against the budget, fees included. */
  readonly spentMsat: Msat;
  close(): Promise<void>;
}

const METHODS: Method[] = [
  'pay_invoice',
  'get_balance',
  'make_invoice',
  'lookup_invoice',
  'get_info',
];
// NWCWalletService routes no get_budget; the test service carries it over the sign_message route.
const GET_BUDGET_MARKER = 'l402kit-test:get_budget';

/** A 32-byte secret key and its x-only (BIP-340) public key, as Nostr uses. */
function nostrKeys(): { secret: string; publicKey: string } {
  const ecdh = createECDH('secp256k1');
  const secret = randomBytes(32);
  ecdh.setPrivateKey(secret);
  return {
    secret: secret.toString('hex'),
    publicKey: ecdh.getPublicKey('hex', 'compressed').slice(2),
  };
}

/**
 * The SDK's own NWCWalletService answering NIP-47 requests over a real relay on behalf of a
 * wallet (a sandbox node): pay_invoice, get_balance, make_invoice, lookup_invoice, get_info.
 */
export async function startTestNwcService(options: TestNwcServiceOptions): Promise<TestNwcService> {
  await ensureWebSocket();
  const { NWCWalletService, NWCWalletServiceKeyPair } = await import('@getalby/sdk/nwc');
  const backing = new BackingWallet(options.wallet);
  const walletKeys = nostrKeys();
  const clientKeys = nostrKeys();
  const keypair = new NWCWalletServiceKeyPair(walletKeys.secret, clientKeys.publicKey);
  const failures = new Map<Method, Array<{ code: string; message: string }>>();
  let spentMsat = 0n;

  const service: TestNwcService = {
    connectionUrl: `nostr+walletconnect://${keypair.walletPubkey}?relay=${encodeURIComponent(options.relayUrl)}&secret=${clientKeys.secret}`,
    walletPubkey: keypair.walletPubkey,
    received: [],
    silent: false,
    failNext(method, error, times = 1) {
      const queue = failures.get(method) ?? [];
      for (let index = 0; index < times; index += 1) queue.push(error);
      failures.set(method, queue);
    },
    get spentMsat() {
      return spentMsat;
    },
    close: async () => {},
  };

  const ok = <T>(result: T) => ({ result, error: undefined });
  const fail = (code: string, message: string) => ({
    result: undefined,
    error: { code, message } as NWCWalletServiceRequestHandlerError,
  });
  const injected = (method: Method) => {
    service.received.push(method);
    const error = failures.get(method)?.shift();
    return error === undefined ? undefined : fail(error.code, error.message);
  };
  const transaction = (hash: string, fields: Partial<Nip47Transaction>): Nip47Transaction => ({
    type: 'outgoing',
    state: 'pending',
    invoice: backing.attempts.get(hash)?.invoice ?? '',
    description: '',
    description_hash: '',
    preimage: '',
    payment_hash: hash,
    amount: Number(backing.attempts.get(hash)?.amountMsat ?? 0n),
    fees_paid: 0,
    settled_at: 0,
    created_at: Math.floor((backing.attempts.get(hash)?.createdAt ?? Date.now()) / 1000),
    expires_at: 0,
    ...fields,
  });

  const handler: NWCWalletServiceRequestHandler = {
    async getInfo() {
      return (
        injected('get_info') ??
        ok({
          alias: 'l402kit test wallet',
          color: '#000000',
          pubkey: walletKeys.publicKey,
          network: 'regtest',
          block_height: 0,
          block_hash: '',
          methods: METHODS,
        })
      );
    },
    async getBalance() {
      return injected('get_balance') ?? ok({ balance: Number(await backing.balanceMsat()) });
    },
    async makeInvoice(request) {
      const refused = injected('make_invoice');
      if (refused !== undefined) return refused;
      const created = await backing.createInvoice(
        BigInt(request.amount),
        request.description,
        request.expiry,
      );
      return ok({
        ...transaction(created.paymentHash, { type: 'incoming', amount: request.amount }),
        invoice: created.invoice,
      });
    },
    async lookupInvoice(request) {
      const refused = injected('lookup_invoice');
      if (refused !== undefined) return refused;
      const hash = String(request.payment_hash ?? '');
      const status = await backing.lookup(hash);
      if (status.state === 'unknown' || !backing.attempts.has(hash))
        return fail('NOT_FOUND', 'transaction not found');
      if (status.state === 'succeeded') {
        return ok(
          transaction(hash, {
            state: 'settled',
            preimage: status.preimage,
            fees_paid: Number(status.feeMsat),
            settled_at: Math.floor(Date.now() / 1000),
          }),
        );
      }
      return ok(transaction(hash, { state: status.state }));
    },
    async payInvoice(request: Nip47PayInvoiceRequest) {
      const refused = injected('pay_invoice');
      if (refused !== undefined) return refused;
      const decoded = backing.decode(request.invoice);
      if (decoded === undefined || decoded.amountMsat === undefined)
        return fail('OTHER', 'invalid invoice');
      const maxFeeMsat = (options.maxFeeMsat ?? albyHubFeeReserve)(decoded.amountMsat);
      if (
        options.budgetMsat !== undefined &&
        spentMsat + decoded.amountMsat + maxFeeMsat > options.budgetMsat
      ) {
        return fail('QUOTA_EXCEEDED', 'Insufficient budget remaining to make payment');
      }
      const payment = backing.pay(decoded, maxFeeMsat).then((result) => {
        if (result.ok) spentMsat += decoded.amountMsat! + result.feeMsat;
        return result;
      });
      if (service.silent) return new Promise<never>(() => {});
      const result = await payment;
      if (result.ok) return ok({ preimage: result.preimage, fees_paid: Number(result.feeMsat) });
      if (result.error instanceof InsufficientBalanceError)
        return fail('INSUFFICIENT_BALANCE', result.error.message);
      if (result.error instanceof PaymentOutcomeUnknownError)
        return fail('INTERNAL', result.error.message);
      if (result.error instanceof PaymentFailedError)
        return fail('PAYMENT_FAILED', result.error.message);
      return fail('INTERNAL', result.error.message);
    },
  };

  const nwc = new NWCWalletService({ relayUrls: [options.relayUrl] });
  const budgetMsat = options.budgetMsat;
  if (budgetMsat !== undefined) {
    const decrypt = nwc.decrypt.bind(nwc);
    nwc.decrypt = async (...args: Parameters<typeof decrypt>) => {
      const text: string = await decrypt(...args);
      const request = JSON.parse(text) as { method?: string };
      if (request.method !== 'get_budget') return text;
      return JSON.stringify({ method: 'sign_message', params: { message: GET_BUDGET_MARKER } });
    };
    handler.signMessage = async (request) => {
      if (request.message !== GET_BUDGET_MARKER) return fail('NOT_IMPLEMENTED', 'sign_message');
      const refused = injected('get_budget');
      if (refused !== undefined) return refused;
      const budget = {
        used_budget: Number(spentMsat),
        total_budget: Number(budgetMsat),
        renewal_period: 'never',
      };
      return ok(budget as unknown as { message: string; signature: string });
    };
  }
  const methods: Method[] = budgetMsat === undefined ? METHODS : [...METHODS, 'get_budget'];
  await nwc.publishWalletServiceInfoEvent(walletKeys.secret, methods, []);
  const unsubscribe = await nwc.subscribe(keypair, handler);
  service.close = async () => {
    unsubscribe();
    nwc.close();
  };
  return service;
}

/** Alby Hub's `CalculateFeeReserveMsat`: max(1 %, 10 sat), the 1 % rounded up. */
function albyHubFeeReserve(amountMsat: Msat): Msat {
  const percent = (amountMsat + 99n) / 100n;
  return percent > 10_000n ? percent : 10_000n;
}
