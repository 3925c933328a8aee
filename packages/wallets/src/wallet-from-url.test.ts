import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPreimageFor, WalletConfigError } from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOOPBACK_TLS,
  startClnRestReproduction,
  startLnbitsReproduction,
  startLndRestReproduction,
  startNostrRelay,
  startPhoenixdReproduction,
  startTestNwcService,
  type TestNostrRelay,
} from './testing/index.js';
import { type SandboxUrlWallet, walletFromEnv, walletFromUrl } from './wallet-from-url.js';

const MACAROON = 'ab'.repeat(48);
const KEY = '5f4e3d2c1b0a99887766554433221100';
const PASSWORD = 'p4ssw0rd-phoenixd-0123456789';
const RUNE = 'Xd-7Ym9yPQ0MuR2nkwNrGKyDwYE9zMTlzDBRbWZqUXBR=';

const network = createSandboxNetwork();
const node = network.createNode({ balanceSats: 4_321 });
const closers: Array<() => Promise<void>> = [];
let relay: TestNostrRelay;
let certificatePath: string;

beforeAll(async () => {
  relay = await startNostrRelay();
  const directory = mkdtempSync(join(tmpdir(), 'l402kit-wallets-'));
  certificatePath = join(directory, 'tls.cert');
  writeFileSync(certificatePath, LOOPBACK_TLS.cert);
});
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await relay.close();
});

/** host:port of a loopback reproduction. */
function hostOf(url: string): string {
  return new URL(url).host;
}

describe('walletFromUrl builds each backend from one URL', () => {
  it('lnd+rest://<macaroon hex>@host:port?cert=<path> (https with a custom CA)', async () => {
    const lnd = await startLndRestReproduction({
      wallet: node.wallet,
      macaroonHex: MACAROON,
      tls: LOOPBACK_TLS,
    });
    const wallet = walletFromUrl(
      `lnd+rest://${MACAROON}@${hostOf(lnd.url)}?cert=${encodeURIComponent(certificatePath)}`,
    );
    closers.push(
      () => lnd.close(),
      async () => wallet.close?.(),
    );
    expect(wallet.name).toBe(`lnd:${hostOf(lnd.url)}`);
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 4_321_000n });
    expect(lnd.requests[0]?.headers['grpc-metadata-macaroon']).toBe(MACAROON);
  });

  it('lnbits://<admin key>@host:port?tls=false', async () => {
    const lnbits = await startLnbitsReproduction({
      wallet: node.wallet,
      adminKey: KEY,
      invoiceKey: 'other',
    });
    const wallet = walletFromUrl(`lnbits://${KEY}@${hostOf(lnbits.url)}?tls=false`);
    closers.push(
      () => lnbits.close(),
      async () => wallet.close?.(),
    );
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 4_321_000n });
    expect(lnbits.requests[0]?.headers['x-api-key']).toBe(KEY);
  });

  it('phoenixd://:<password>@host:port (plain http, as phoenixd serves)', async () => {
    const phoenixd = await startPhoenixdReproduction({ wallet: node.wallet, password: PASSWORD });
    const wallet = walletFromUrl(`phoenixd://:${PASSWORD}@${hostOf(phoenixd.url)}`);
    closers.push(
      () => phoenixd.close(),
      async () => wallet.close?.(),
    );
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 4_321_000n });
  });

  it('clnrest://<rune>@host:port?cert=<path>, with a rune that needs percent-encoding', async () => {
    const cln = await startClnRestReproduction({
      wallet: node.wallet,
      rune: RUNE,
      tls: LOOPBACK_TLS,
    });
    const wallet = walletFromUrl(
      `clnrest://${encodeURIComponent(RUNE)}@${hostOf(cln.url)}?cert=${encodeURIComponent(certificatePath)}`,
    );
    closers.push(
      () => cln.close(),
      async () => wallet.close?.(),
    );
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 4_321_000n });
    expect(cln.requests[0]?.headers['rune']).toBe(RUNE);
  });

  it('nostr+walletconnect://... as the wallet hands it out', async () => {
    const service = await startTestNwcService({ relayUrl: relay.url, wallet: node.wallet });
    const wallet = walletFromUrl(service.connectionUrl, { timeoutMs: 5_000 });
    closers.push(
      () => service.close(),
      async () => wallet.close?.(),
    );
    expect(wallet.name.startsWith('nwc:')).toBe(true);
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 4_321_000n });
  });

  it('sandbox:?balance=<sats>: a funded payer whose network a same-process paywall can use', async () => {
    const wallet = walletFromUrl('sandbox:?balance=1234') as SandboxUrlWallet;
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 1_234_000n });
    const { invoice, paymentHash } = wallet.sandbox.merchant.createInvoice({ amountSats: 34 });
    const { preimage } = await wallet.payInvoice({
      invoice,
      paymentHash,
      amountMsat: 34_000n,
      maxFeeMsat: 0n,
      timeoutMs: 1_000,
    });
    expect(isPreimageFor(preimage, paymentHash)).toBe(true);
    expect(wallet.sandbox.merchant.balanceMsat).toBe(34_000n);
    expect(wallet.network).toBe('regtest');
    expect(await (walletFromUrl('sandbox:') as SandboxUrlWallet).getBalance()).toEqual({
      balanceMsat: 100_000_000n,
    });
  });

  it('walletFromEnv reads L402KIT_WALLET and says clearly when it is missing', async () => {
    const wallet = walletFromEnv({ L402KIT_WALLET: 'sandbox:?balance=5' });
    expect(await wallet.getBalance?.()).toEqual({ balanceMsat: 5_000n });
    expect(() => walletFromEnv({})).toThrow(/L402KIT_WALLET is not set/);
  });
});

describe('item 5: wallets whose backend takes no fee limit declare their worst case', () => {
  it('LNbits: its default fee reserve, or the instance reserve given in the URL', () => {
    const standard = walletFromUrl(`lnbits://${KEY}@legend.lnbits.com`);
    expect(standard.worstCaseFeeMsat?.(10_000n)).toBe(2_000n);
    expect(standard.worstCaseFeeMsat?.(1_000_000n)).toBe(10_000n);
    const raised = walletFromUrl(
      `lnbits://${KEY}@legend.lnbits.com?reserve_fee_min=5000&reserve_fee_percent=2.5`,
    );
    expect(raised.worstCaseFeeMsat?.(10_000n)).toBe(5_000n);
    expect(raised.worstCaseFeeMsat?.(1_000_000n)).toBe(25_000n);
    for (const query of [
      'reserve_fee_min=-1',
      'reserve_fee_min=2sat',
      'reserve_fee_percent=lots',
    ]) {
      expect(() => walletFromUrl(`lnbits://${KEY}@legend.lnbits.com?${query}`), query).toThrow(
        WalletConfigError,
      );
    }
  });

  it('phoenixd: 4 sat + 0.4 %; NWC: Alby Hub max(10 sat, 1 %); LND and CLN keep to the limit they are sent', () => {
    expect(walletFromUrl('phoenixd://:pw@127.0.0.1:9740').worstCaseFeeMsat?.(10_000n)).toBe(4_040n);
    const nwc = walletFromUrl(
      `nostr+walletconnect://${'b'.repeat(64)}?relay=wss://relay.example&secret=${'c'.repeat(64)}`,
    );
    expect(nwc.worstCaseFeeMsat?.(10_000n)).toBe(10_000n);
    expect(nwc.worstCaseFeeMsat?.(2_000_000n)).toBe(20_000n);
    expect(walletFromUrl(`lnd+rest://${'ab'.repeat(8)}@127.0.0.1:8080`).worstCaseFeeMsat).toBe(
      undefined,
    );
    expect(walletFromUrl(`clnrest://${RUNE}@127.0.0.1:3010`).worstCaseFeeMsat).toBe(undefined);
  });
});

describe('walletFromUrl never repeats a secret', () => {
  const cases: Array<[string, string, RegExp]> = [
    [`lnd+rest://@127.0.0.1:8080`, '', /lnd\+rest:\/\/127\.0\.0\.1:8080: put the macaroon/],
    [
      `lnbits://${KEY}@legend.lnbits.com?tls=maybe`,
      KEY,
      /lnbits:\/\/legend\.lnbits\.com: tls must be/,
    ],
    [
      `phoenixd://${KEY}@127.0.0.1:9740`,
      KEY,
      /phoenixd:\/\/127\.0\.0\.1:9740: put the http-password/,
    ],
    [
      `clnrest://${RUNE}@127.0.0.1:3010?cert=/nonexistent/ca.pem`,
      RUNE,
      /clnrest:\/\/127\.0\.0\.1:3010: cannot read/,
    ],
    [`lnd+rest://zz${MACAROON}@127.0.0.1:8080`, MACAROON, /LND at 127\.0\.0\.1:8080: macaroonHex/],
    [`ftp://${KEY}@files.example`, KEY, /unknown wallet URL scheme "ftp"/],
    [
      `nostr+walletconnect://${'ab'.repeat(32)}?relay=wss://relay.example&secret=${KEY}`,
      KEY,
      /secret is missing or not 64 hex/,
    ],
    [`lnbits://${KEY}@`, KEY, /lnbits wallet URL/],
    [`${KEY}`, KEY, /no scheme/],
  ];
  for (const [url, secret, message] of cases) {
    it(`${message.source}`, () => {
      let caught: unknown;
      try {
        walletFromUrl(url);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(WalletConfigError);
      expect((caught as Error).message).toMatch(message);
      if (secret !== '') expect((caught as Error).message).not.toContain(secret);
    });
  }

  it('for any secret in any position of a refused URL (property)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9_-]{12,60}$/);
    const refused = fc.oneof(
      secret.map((s) => ({ s, url: `lnbits://${s}@host.example?tls=yes` })),
      secret.map((s) => ({ s, url: `clnrest://${s}@host.example:3010?cert=/no/such/${s}` })),
      secret.map((s) => ({ s, url: `x-wallet://${s}:${s}@h.example/${s}?key=${s}` })),
      secret.map((s) => ({ s, url: `phoenixd://${s}:@h.example` })),
      secret.map((s) => ({ s, url: `lnd+rest://${s}@h.example:8080` })),
      secret.map((s) => ({
        s,
        url: `nostr+walletconnect://${s}?relay=wss://r.example&secret=${s}`,
      })),
    );
    fc.assert(
      fc.property(refused, ({ s, url }) => {
        try {
          walletFromUrl(url);
        } catch (error) {
          expect(error).toBeInstanceOf(WalletConfigError);
          expect((error as Error).message).not.toContain(s);
          return;
        }
        throw new Error('expected the URL to be refused');
      }),
    );
  });
});
