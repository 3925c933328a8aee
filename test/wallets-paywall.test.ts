import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBudget, createPaidFetch, type Wallet } from '@l402kit/core';
import { createSandboxNetwork, type SandboxNode } from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';
import { type SandboxUrlWallet, walletFromUrl } from '@l402kit/wallets';
import {
  LOOPBACK_TLS,
  startClnRestReproduction,
  startLnbitsReproduction,
  startLndRestReproduction,
  startNostrRelay,
  startPhoenixdReproduction,
  startTestNwcService,
} from '@l402kit/wallets/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFetch } from './support/serve-fetch.js';

// An L402 paywall (@l402kit/server) sells from a sandbox merchant; core's paid fetch buys
// through each wallet backend, configured from a URL as a user would. Every payment moves
// sandbox money for real: the payer loses exactly price + fee, the merchant gains the price.
const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const PRICE_SATS = 21;
const FEE_MSAT = 1_000n + 21n; // 1 sat base + 1,000 ppm of 21,000 msat

const network = createSandboxNetwork({ feeBaseMsat: 1_000n, feeRatePpm: 1_000 });
const merchant = network.createNode({ name: 'merchant' });
const closers: Array<() => Promise<void>> = [];
let shopUrl: string;

beforeAll(async () => {
  const paywall = createPaywall({
    wallet: merchant.wallet,
    rootKey: new Uint8Array(randomBytes(32)),
    serviceName: 'wallets-e2e',
    price: PRICE_SATS,
  });
  const shop = await serveFetch(paywall.handler(() => Response.json({ data: 'the paid answer' })));
  closers.push(() => shop.close());
  shopUrl = shop.url;
});
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function buyWith(wallet: Wallet, payer: SandboxNode) {
  const before = { payer: payer.balanceMsat, merchant: merchant.balanceMsat };
  const paidFetch = createPaidFetch({
    wallet,
    budget: createBudget({ maxSats: 100 }),
    policy: loopbackPolicy,
  });
  const response = await paidFetch(`${shopUrl}/report`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ data: 'the paid answer' });
  expect(response.l402).toMatchObject({ paid: true, amountMsat: 21_000n, feeMsat: FEE_MSAT });
  expect(before.payer - payer.balanceMsat).toBe(21_000n + FEE_MSAT);
  expect(merchant.balanceMsat - before.merchant).toBe(21_000n);
}

const host = (url: string) => new URL(url).host;

describe('buying from an L402 paywall with each wallet backend', () => {
  it('NWC: real relay, the SDK NWCWalletService for the payer, l402kit NWCClient wallet', async () => {
    const relay = await startNostrRelay();
    const payer = network.createNode({ balanceSats: 1_000 });
    const service = await startTestNwcService({ relayUrl: relay.url, wallet: payer.wallet });
    const wallet = walletFromUrl(service.connectionUrl);
    closers.push(
      () => relay.close(),
      () => service.close(),
      async () => wallet.close?.(),
    );
    await buyWith(wallet, payer);
  });

  it('LND REST (reproduction, https with its own certificate)', async () => {
    const payer = network.createNode({ balanceSats: 1_000 });
    const macaroon = 'cafe'.repeat(24);
    const lnd = await startLndRestReproduction({
      wallet: payer.wallet,
      macaroonHex: macaroon,
      tls: LOOPBACK_TLS,
    });
    const cert = join(mkdtempSync(join(tmpdir(), 'l402kit-e2e-')), 'tls.cert');
    writeFileSync(cert, LOOPBACK_TLS.cert);
    const wallet = walletFromUrl(
      `lnd+rest://${macaroon}@${host(lnd.url)}?cert=${encodeURIComponent(cert)}`,
    );
    closers.push(
      () => lnd.close(),
      async () => wallet.close?.(),
    );
    await buyWith(wallet, payer);
  });

  it('LNbits (reproduction)', async () => {
    const payer = network.createNode({ balanceSats: 1_000 });
    const lnbits = await startLnbitsReproduction({
      wallet: payer.wallet,
      adminKey: 'admin-key-0123456789',
      invoiceKey: 'inv',
    });
    const wallet = walletFromUrl(`lnbits://admin-key-0123456789@${host(lnbits.url)}?tls=false`);
    closers.push(
      () => lnbits.close(),
      async () => wallet.close?.(),
    );
    await buyWith(wallet, payer);
  });

  it('phoenixd (reproduction)', async () => {
    const payer = network.createNode({ balanceSats: 1_000 });
    const phoenixd = await startPhoenixdReproduction({
      wallet: payer.wallet,
      password: 'phoenix-password',
    });
    const wallet = walletFromUrl(`phoenixd://:phoenix-password@${host(phoenixd.url)}`);
    closers.push(
      () => phoenixd.close(),
      async () => wallet.close?.(),
    );
    await buyWith(wallet, payer);
  });

  it('Core Lightning CLNRest (reproduction)', async () => {
    const payer = network.createNode({ balanceSats: 1_000 });
    const cln = await startClnRestReproduction({ wallet: payer.wallet, rune: 'rune-for-e2e' });
    const wallet = walletFromUrl(`clnrest://rune-for-e2e@${host(cln.url)}?tls=false`);
    closers.push(
      () => cln.close(),
      async () => wallet.close?.(),
    );
    await buyWith(wallet, payer);
  });

  it('sandbox: URL, with the paywall selling on the same in-process network', async () => {
    const wallet = walletFromUrl('sandbox:?balance=500') as SandboxUrlWallet;
    const { network: ownNetwork, merchant: seller, payer } = wallet.sandbox;
    const paywall = createPaywall({
      wallet: seller.wallet,
      rootKey: new Uint8Array(randomBytes(32)),
      serviceName: 'sandbox-shop',
      price: 5,
    });
    const shop = await serveFetch(paywall.handler(() => new Response('ok')));
    closers.push(() => shop.close());
    const paidFetch = createPaidFetch({
      wallet,
      policy: loopbackPolicy,
      budget: createBudget({ maxSats: 10 }),
    });
    const response = await paidFetch(`${shop.url}/x`);
    expect(await response.text()).toBe('ok');
    expect(seller.balanceMsat).toBe(5_000n);
    expect(payer.balanceMsat).toBe(495_000n - response.l402.feeMsat);
    expect(ownNetwork.totalMsat()).toBe(ownNetwork.fundedMsat);
  });
});
