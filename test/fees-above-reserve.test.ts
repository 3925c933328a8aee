import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Budget,
  type BudgetStatus,
  createBudget,
  createPaidFetch,
  L402Error,
  type Msat,
  type Wallet,
} from '@l402kit/core';
import { createSandboxNetwork, type SandboxNode } from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';
import { walletFromUrl } from '@l402kit/wallets';
import {
  LOOPBACK_TLS,
  startClnRestReproduction,
  startLnbitsReproduction,
  startLndRestReproduction,
  startNostrRelay,
  startPhoenixdReproduction,
  startTestNwcService,
} from '@l402kit/wallets/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { serveFetch } from './support/serve-fetch.js';

// Issue 11, item 5: backends that take no fee limit (phoenixd, LNbits, NWC) charge what their
// own rule allows, whatever l402kit reserved. Each backend here runs on a sandbox network whose
// routing fee is as high as that backend lets through, so every payment costs its worst case.
// Whatever happens, no budget level may end above its limit.

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Backend {
  name: string;
  /** The sandbox network's routing fee: the most this backend lets through. */
  fee: { feeBaseMsat: Msat; feeRatePpm: number };
  /** Keeps to the fee limit l402kit sends: every route here is above it, so nothing is bought. */
  keepsToTheLimit?: boolean;
  connect(payer: SandboxNode): Promise<Wallet>;
}

const host = (url: string) => new URL(url).host;

const backends: Backend[] = [
  {
    // phoenixd charges 4 sat + 0.4 % on every payment; its API takes no fee limit.
    name: 'phoenixd',
    fee: { feeBaseMsat: 4_000n, feeRatePpm: 4_000 },
    async connect(payer) {
      const phoenixd = await startPhoenixdReproduction({
        wallet: payer.wallet,
        password: 'phoenix-password',
      });
      closers.push(() => phoenixd.close());
      return walletFromUrl(`phoenixd://:phoenix-password@${host(phoenixd.url)}`);
    },
  },
  {
    // LNbits lets its funding source spend its fee reserve, max(2 sat, 1 %) by default.
    name: 'LNbits',
    fee: { feeBaseMsat: 2_000n, feeRatePpm: 0 },
    async connect(payer) {
      const lnbits = await startLnbitsReproduction({
        wallet: payer.wallet,
        adminKey: 'admin-key-0123456789',
        invoiceKey: 'invoice-key',
      });
      closers.push(() => lnbits.close());
      return walletFromUrl(`lnbits://admin-key-0123456789@${host(lnbits.url)}?tls=false`);
    },
  },
  {
    // An LNbits instance whose admin raised the reserve to max(5 sat, 3 %), told in the URL.
    name: 'LNbits with a larger fee reserve',
    fee: { feeBaseMsat: 5_000n, feeRatePpm: 0 },
    async connect(payer) {
      const lnbits = await startLnbitsReproduction({
        wallet: payer.wallet,
        adminKey: 'admin-key-0123456789',
        invoiceKey: 'invoice-key',
        feeReserveMsat: (amount) => {
          const share = (amount * 3n + 99n) / 100n;
          return share > 5_000n ? share : 5_000n;
        },
      });
      closers.push(() => lnbits.close());
      return walletFromUrl(
        `lnbits://admin-key-0123456789@${host(lnbits.url)}?tls=false&reserve_fee_min=5000&reserve_fee_percent=3`,
      );
    },
  },
  {
    // NIP-47 has no fee limit; Alby Hub reserves max(10 sat, 1 %).
    name: 'NWC',
    fee: { feeBaseMsat: 10_000n, feeRatePpm: 0 },
    async connect(payer) {
      const relay = await startNostrRelay();
      const service = await startTestNwcService({ relayUrl: relay.url, wallet: payer.wallet });
      const wallet = walletFromUrl(service.connectionUrl);
      closers.push(
        () => relay.close(),
        () => service.close(),
        async () => wallet.close?.(),
      );
      return wallet;
    },
  },
  {
    // LND keeps to the fee limit it is sent: routes above it fail and nothing moves.
    name: 'LND',
    fee: { feeBaseMsat: 4_000n, feeRatePpm: 4_000 },
    keepsToTheLimit: true,
    async connect(payer) {
      const macaroon = 'cafe'.repeat(24);
      const lnd = await startLndRestReproduction({
        wallet: payer.wallet,
        macaroonHex: macaroon,
        tls: LOOPBACK_TLS,
      });
      closers.push(() => lnd.close());
      const cert = join(mkdtempSync(join(tmpdir(), 'l402kit-fees-')), 'tls.cert');
      writeFileSync(cert, LOOPBACK_TLS.cert);
      return walletFromUrl(
        `lnd+rest://${macaroon}@${host(lnd.url)}?cert=${encodeURIComponent(cert)}`,
      );
    },
  },
  {
    // Core Lightning keeps to `maxfee` in the same way.
    name: 'Core Lightning',
    fee: { feeBaseMsat: 4_000n, feeRatePpm: 4_000 },
    keepsToTheLimit: true,
    async connect(payer) {
      const rune = 'rune-0123456789';
      const cln = await startClnRestReproduction({ wallet: payer.wallet, rune, tls: LOOPBACK_TLS });
      closers.push(() => cln.close());
      const cert = join(mkdtempSync(join(tmpdir(), 'l402kit-fees-')), 'ca.pem');
      writeFileSync(cert, LOOPBACK_TLS.cert);
      return walletFromUrl(`clnrest://${rune}@${host(cln.url)}?cert=${encodeURIComponent(cert)}`);
    },
  },
];

/** A shop whose path names the price: `/item/7/...` costs 7 sats. */
async function startShop(backend: Backend) {
  const network = createSandboxNetwork(backend.fee);
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 10_000 });
  const paywall = createPaywall({
    wallet: merchant.wallet,
    rootKey: new Uint8Array(randomBytes(32)),
    serviceName: 'fees',
    price: (request) => Number(new URL(request.url).pathname.split('/')[2]),
  });
  const shop = await serveFetch(paywall.handler(() => Response.json({ data: 'paid' })));
  closers.push(() => shop.close());
  const wallet = await backend.connect(payer);
  closers.push(async () => wallet.close?.());
  return { shop, payer, wallet };
}

/** Every level of a budget and its parents: nothing spent, reserved or pending above a limit. */
function expectWithinLimits(status: BudgetStatus, context: string): void {
  for (let level: BudgetStatus | undefined = status; level; level = level.parent) {
    const used = level.spentMsat + level.reservedMsat + level.pendingMsat;
    if (level.limitMsat !== undefined) {
      expect(used, `${context}: "${level.name}" total`).toBeLessThanOrEqual(level.limitMsat);
    }
    if (level.perHostLimitMsat !== undefined) {
      for (const [shopHost, spent] of Object.entries(level.perHost)) {
        expect(spent, `${context}: "${level.name}" ${shopHost}`).toBeLessThanOrEqual(
          level.perHostLimitMsat,
        );
      }
    }
  }
}

describe('issue 11 item 5: fees above the reserved maximum never push a budget level above its limit', () => {
  it.each(backends.map((backend) => [backend.name, backend] as const))(
    'item 5: %s, the reproduction: a 12-sat budget with a 12-sat cap ends at most at 12 sats',
    async (_name, backend) => {
      const { shop, payer, wallet } = await startShop(backend);
      const budget = createBudget({ name: 'run', maxSats: 12, maxSatsPerRequest: 12 });
      const paidFetch = createPaidFetch({ wallet, budget, policy: loopbackPolicy });
      const before = payer.balanceMsat;
      let error: unknown;
      await paidFetch(`${shop.url}/item/10/report`).catch((caught: unknown) => {
        error = caught;
      });
      const status = await budget.status();
      expectWithinLimits(status, backend.name);
      // The books follow the wallet: what left the payer is what the budget counts.
      expect(before - payer.balanceMsat).toBe(status.spentMsat);
      if (error !== undefined) {
        // Refused before paying: the worst case did not fit, and the message says so.
        expect(error).toBeInstanceOf(L402Error);
        expect((error as L402Error).paid, String(error)).toBe(false);
        expect(payer.balanceMsat).toBe(before);
      }
    },
  );

  it.each(backends.map((backend) => [backend.name, backend] as const))(
    'item 5: %s, random purchases under a run inside a total: every level stays within its limits',
    async (_name, backend) => {
      const { shop, payer, wallet } = await startShop(backend);
      const total = createBudget({ name: 'total', maxSats: 50 });
      const run: Budget = total.child({
        name: 'run',
        maxSats: 45,
        maxSatsPerRequest: 15,
        maxSatsPerHost: 40,
      });
      const paidFetch = createPaidFetch({ wallet, budget: run, policy: loopbackPolicy });
      // A fixed seed: the same prices on every run, so a failure can be replayed.
      const prices = fc.sample(fc.integer({ min: 1, max: 14 }), { numRuns: 16, seed: 11_05 });
      const before = payer.balanceMsat;
      let bought = 0;
      for (const [index, price] of prices.entries()) {
        const result = await paidFetch(`${shop.url}/item/${price}/${index}`).then(
          (response) => response.l402,
          (caught: unknown) => caught as L402Error,
        );
        expectWithinLimits(await run.status(), `${backend.name} after buying for ${price} sats`);
        if (result instanceof L402Error) {
          expect(result.paid, result.message).toBe(false);
        } else {
          // One payment, fees included, is never above the per-request cap.
          expect(result.amountMsat + result.feeMsat).toBeLessThanOrEqual(15_000n);
          bought += 1;
        }
      }
      expect(before - payer.balanceMsat).toBe((await run.status()).spentMsat);
      if (backend.keepsToTheLimit) expect(bought).toBe(0);
      else expect(bought).toBeGreaterThan(0);
    },
  );
});
