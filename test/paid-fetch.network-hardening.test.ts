// Issue 11, items 3, 6, 9 and 10: the network-facing guarantees of the paid fetch, each
// against real loopback HTTP servers and real signed invoices paid on a sandbox network.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BudgetExceededError,
  createBudget,
  createPaidFetch,
  createPolicy,
  FileTokenStore,
  L402Error,
  OpaqueTokenError,
  PaidNotDeliveredError,
  PaymentLoopError,
  PaymentLoopRefusedError,
  type Policy,
  PolicyDeniedError,
  type Wallet,
} from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  challengeHeader,
  paymentRequired,
  type RecordingServer,
  serveRecording,
} from './support/crafted-challenge.js';
import { startFetchChild } from './support/fetch-child.js';
import { type PaidApi, type PaidApiOptions, startPaidApi } from './support/paid-api.js';
import { serveWallet } from './support/wallet-server.js';
import { rejection, succeeded } from './support/outcomes.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function paidApi(options?: PaidApiOptions): Promise<PaidApi> {
  const api = await startPaidApi(options);
  closers.push(api.close);
  return api;
}

describe('issue 11 item 6: spelling one host several ways opens no new per-host bucket or token', () => {
  it('refuses a second payment to localhost and [::ffff:7f00:1] once 127.0.0.1 used the per-host cap', async () => {
    const api = await paidApi();
    const port = new URL(api.url).port;
    // 10 sats plus at most 1.1 sats of fee fit once in 15 sats per host.
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget: createBudget({ maxSats: 1_000, maxSatsPerHost: 15 }),
      policy: loopbackPolicy,
    });
    const first = await paidFetch(`http://127.0.0.1:${port}/a`);
    expect(first.l402.paid).toBe(true);
    for (const url of [
      `http://localhost:${port}/b`,
      `http://[::ffff:7f00:1]:${port}/c`,
      `http://[::ffff:127.0.0.1]:${port}/d`,
    ]) {
      const error = await rejection(paidFetch(url));
      expect(error).toBeInstanceOf(BudgetExceededError);
      expect(error.paid).toBe(false);
      expect(error.message).toMatch(/per-host limit 15 sats for localhost/);
    }
    expect(succeeded(api.network)).toBe(1);
    expect((await paidFetch.budget.status()).perHost).toEqual({ localhost: 10_000n });
  });

  it('reuses the token bought at 127.0.0.1 for the same resource at [::ffff:7f00:1]', async () => {
    const api = await paidApi();
    const port = new URL(api.url).port;
    const paidFetch = createPaidFetch({ wallet: api.payer.wallet, policy: loopbackPolicy });
    expect((await paidFetch(`http://127.0.0.1:${port}/a`)).l402.paid).toBe(true);
    const again = await paidFetch(`http://[::ffff:7f00:1]:${port}/a`);
    expect(again.status).toBe(200);
    expect(again.l402).toMatchObject({ paid: false, usedCachedToken: true });
    expect(succeeded(api.network)).toBe(1);
  });
});

/**
 * A name server under the seller's control: each lookup gets the next answer of the script
 * (the last one repeats). It answers both the policy's check and every connection: l402kit's
 * own through the policy, and Node's fetch through the global dispatcher it is installed as,
 * which is how a rebinding DNS answers the system resolver.
 */
class ScriptedDns {
  readonly lookups: string[][] = [];
  #next = 0;
  constructor(readonly script: string[][]) {}

  async resolve(hostname: string): Promise<string[]> {
    const answer = this.script[Math.min(this.#next++, this.script.length - 1)]!;
    this.lookups.push([hostname, ...answer]);
    return answer;
  }

  /** Installs this as the resolver behind Node's own fetch until the test ends. */
  asSystemResolver(): void {
    const lookup: LookupFunction = (hostname, options, callback) => {
      this.resolve(hostname).then((addresses) => {
        const entries = addresses.map((address) => ({
          address,
          family: address.includes(':') ? 6 : 4,
        }));
        if (options.all) callback(null, entries);
        else callback(null, entries[0]!.address, entries[0]!.family);
      });
    };
    const previous: Dispatcher = getGlobalDispatcher();
    const agent = new Agent({ connect: { lookup } });
    setGlobalDispatcher(agent);
    closers.push(async () => {
      setGlobalDispatcher(previous);
      await agent.close();
    });
  }
}

async function recording(
  handler: Parameters<typeof serveRecording>[0],
  serve?: Parameters<typeof serveRecording>[1],
): Promise<RecordingServer> {
  const server = await serveRecording(handler, serve);
  closers.push(server.close);
  return server;
}

/** Servers on 127.0.0.2 and 127.0.0.1 with one port, so one URL can reach either by DNS alone. */
async function twinPorts<T extends { url: string; close(): Promise<void> }>(
  first: (port?: number) => Promise<T>,
  second: (port: number) => Promise<RecordingServer>,
): Promise<{ public: T; private: RecordingServer; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const publicServer = await first();
    const port = Number(new URL(publicServer.url).port);
    try {
      return { public: publicServer, private: await second(port), port };
    } catch (error) {
      await publicServer.close();
      if (attempt >= 5) throw error;
    }
  }
}

/** For calls that must not get as far as paying. */
const neverPays: Wallet = {
  name: 'unused',
  network: 'regtest',
  payInvoice: async () => {
    throw new Error('never paid');
  },
};

describe('issue 11 item 3: the address connected to is the address the policy checked', () => {
  it('never reaches a loopback-only service through a name alternating between a public address and loopback (0 of 20)', async () => {
    const internal = await recording(() => new Response('internal secret'));
    const port = new URL(internal.url).port;
    const dns = new ScriptedDns(
      Array.from({ length: 200 }, (_, index) => [index % 2 === 0 ? '93.184.215.14' : '127.0.0.1']),
    );
    dns.asSystemResolver();
    const paidFetch = createPaidFetch({
      wallet: neverPays,
      policy: { requireHttps: false, resolveHost: (hostname) => dns.resolve(hostname) },
    });
    const outcomes: string[] = [];
    for (let call = 0; call < 20; call++) {
      const outcome = await paidFetch(`http://rebind.test:${port}/admin`).then(
        (response) => `reached ${response.status}`,
        (error: unknown) =>
          error instanceof L402Error ? `${error.code} paid=${error.paid}` : String(error),
      );
      outcomes.push(outcome);
    }
    expect(internal.requests).toHaveLength(0);
    expect(new Set(outcomes)).toEqual(new Set(['POLICY_DENIED paid=false']));
    // Every connection asked the name server, and was refused the loopback answer it got.
    expect(dns.lookups.filter(([, address]) => address === '127.0.0.1')).toHaveLength(20);
  });

  // Loopback is the only network a test has: here the stand-in for the public internet is
  // 127.0.0.2, and the private service the seller's DNS points at is 127.0.0.1.
  const privateAddress = '127.0.0.1';
  const publicAddress = '127.0.0.2';
  function stubbornPolicy(dns: ScriptedDns): Policy {
    const base = createPolicy({ allowPrivateNetwork: true, requireHttps: false });
    const resolveForConnect = async (hostname: string) => {
      const addresses = await dns.resolve(hostname);
      if (addresses.includes(privateAddress)) {
        throw new PolicyDeniedError(
          `${hostname} resolves to the private address ${privateAddress}.`,
          { paid: false },
        );
      }
      return addresses;
    };
    return {
      ...base,
      async checkUrl(url) {
        await base.checkUrl(url);
        await resolveForConnect(url.hostname);
      },
      resolveForConnect,
    };
  }

  it('refuses the paid retry when the name rebinds to a private address after the 402, and the credential never leaves', async () => {
    const servers = await twinPorts(
      (port) => startPaidApi({ serve: { host: publicAddress, port, closeConnections: true } }),
      (port) => recording(() => new Response('internal'), { host: privateAddress, port }),
    );
    closers.push(servers.public.close);
    // The check, the connection that gets the 402, then the paid retry's connection.
    const dns = new ScriptedDns([[publicAddress], [publicAddress], [privateAddress]]);
    dns.asSystemResolver();
    const paidFetch = createPaidFetch({
      wallet: servers.public.payer.wallet,
      policy: stubbornPolicy(dns),
    });
    const error = await rejection(paidFetch(`http://rebind.test:${servers.port}/report`));
    expect(error).toBeInstanceOf(PaidNotDeliveredError);
    expect(error).toMatchObject({ paid: true });
    expect(error.amountMsat).toBeGreaterThanOrEqual(10_000n);
    expect(error.message).toMatch(/policy refused the connection .*private address 127\.0\.0\.1/);
    expect(servers.private.requests).toHaveLength(0);
    expect(servers.public.requests.map((request) => request.authorization)).toEqual([null]);
  });

  it('refuses a redirect hop whose name rebinds between its check and its connection', async () => {
    const servers = await twinPorts(
      (port) =>
        recording(() => new Response(null, { status: 302, headers: { location: '/next' } }), {
          host: publicAddress,
          port,
          closeConnections: true,
        }),
      (port) => recording(() => new Response('internal'), { host: privateAddress, port }),
    );
    // Hop 1: check and connect; hop 2: check (public) and connect (private).
    const dns = new ScriptedDns([
      [publicAddress],
      [publicAddress],
      [publicAddress],
      [privateAddress],
    ]);
    dns.asSystemResolver();
    const paidFetch = createPaidFetch({
      wallet: neverPays,
      policy: stubbornPolicy(dns),
    });
    const error = await rejection(paidFetch(`http://rebind.test:${servers.port}/start`));
    expect(error).toBeInstanceOf(PolicyDeniedError);
    expect(error.paid).toBe(false);
    expect(error.message).toMatch(
      /when connecting: .*private address 127\.0\.0\.1.*Nothing was paid/,
    );
    expect(servers.public.requests.map((request) => request.path)).toEqual(['/start']);
    expect(servers.private.requests).toHaveLength(0);
  });
});

describe('issue 11 item 9: a payment loop is remembered, and the resource is not paid again', () => {
  /** A server that takes payment and answers 402 again, every time, with a payable invoice. */
  async function loopingShop() {
    const network = createSandboxNetwork();
    const merchant = network.createNode({ name: 'merchant' });
    const payer = network.createNode({ name: 'payer', balanceSats: 100_000 });
    const server = await recording(() =>
      paymentRequired(challengeHeader(merchant.createInvoice({ amountSats: 10 }))),
    );
    const directory = await mkdtemp(join(tmpdir(), 'l402kit-loops-'));
    closers.push(() => rm(directory, { recursive: true, force: true }));
    return { network, payer, server, tokenFile: join(directory, 'tokens.json') };
  }

  it('refuses the resource without paying, also in another process, then the origin after a second loop, until cleared', async () => {
    const { network, payer, server, tokenFile } = await loopingShop();
    const paidFetch = createPaidFetch({
      wallet: payer.wallet,
      tokenStore: new FileTokenStore(tokenFile),
      policy: loopbackPolicy,
    });
    const loop = await rejection(paidFetch(`${server.url}/loop`));
    expect(loop).toBeInstanceOf(PaymentLoopError);
    expect(loop.message).toMatch(/will not be paid again until the record is cleared/);
    expect(succeeded(network)).toBe(1);

    const refused = await rejection(paidFetch(`${server.url}/loop`));
    expect(refused).toBeInstanceOf(PaymentLoopRefusedError);
    expect(refused).toMatchObject({ code: 'PAYMENT_LOOP_REFUSED', paid: false, amountMsat: 0n });
    expect(refused.message).toMatch(
      /this resource answered 402 again after being paid \(1 payment loop, 10 sats/,
    );
    expect(refused.message).toMatch(
      /Nothing was paid\. It stays refused until an operator clears it/,
    );
    expect(succeeded(network)).toBe(1);

    // Another process sharing the token file: the record is there, so it pays nothing either.
    const wallet = await serveWallet(payer.wallet);
    closers.push(wallet.close);
    const child = startFetchChild({ WALLET_URL: wallet.url, TOKEN_FILE: tokenFile });
    closers.push(async () => child.kill());
    expect(await child.next()).toEqual({ ready: true });
    child.fetch(`${server.url}/loop`);
    expect((await child.next()).error).toMatchObject({ code: 'PAYMENT_LOOP_REFUSED', paid: false });
    expect(succeeded(network)).toBe(1);

    // A second resource of the origin loops too: now the whole origin is refused.
    expect(await rejection(paidFetch(`${server.url}/other`))).toBeInstanceOf(PaymentLoopError);
    expect(succeeded(network)).toBe(2);
    const originRefused = await rejection(paidFetch(`${server.url}/third`));
    expect(originRefused).toBeInstanceOf(PaymentLoopRefusedError);
    expect(originRefused.message).toMatch(
      /its origin http:\/\/127\.0\.0\.1:\d+ answered 402 again/,
    );
    expect(succeeded(network)).toBe(2);
    expect(
      (await paidFetch.paymentLoops())
        .map((record) => [record.key.split(' ').at(-1), record.count])
        .sort(),
    ).toEqual([
      ['/loop', 1],
      ['/other', 1],
      [server.url, 2],
    ]);

    // The operator clears the origin's records: it may be paid (and loop) once more.
    expect(await paidFetch.clearPaymentLoops(server.url)).toBe(3);
    expect(await rejection(paidFetch(`${server.url}/third`))).toBeInstanceOf(PaymentLoopError);
    expect(succeeded(network)).toBe(3);
  }, 60_000);

  it('pays again once the configured cool-down has passed since the last loop', async () => {
    const { network, payer, server, tokenFile } = await loopingShop();
    const store = new FileTokenStore(tokenFile);
    const origin = server.url;
    // A loop recorded ten seconds ago, by an earlier run.
    await store.recordPaymentLoop({
      key: `${origin} GET /loop`,
      origin,
      scope: '/loop',
      method: 'GET',
      amountMsat: 10_000n,
      paymentHash: 'ab'.repeat(32),
      at: Date.now() - 10_000,
    });
    const within = createPaidFetch({
      wallet: payer.wallet,
      tokenStore: store,
      policy: loopbackPolicy,
      paymentLoops: { cooldownMs: 60_000 },
    });
    const refused = await rejection(within(`${server.url}/loop`));
    expect(refused).toBeInstanceOf(PaymentLoopRefusedError);
    expect(refused.message).toMatch(/may be paid again after \d{4}-\d\d-\d\dT/);
    expect(succeeded(network)).toBe(0);
    const after = createPaidFetch({
      wallet: payer.wallet,
      tokenStore: store,
      policy: loopbackPolicy,
      paymentLoops: { cooldownMs: 5_000 },
    });
    expect(await rejection(after(`${server.url}/loop`))).toBeInstanceOf(PaymentLoopError);
    expect(succeeded(network)).toBe(1);
    expect((await store.getPaymentLoop(`${origin} GET /loop`))?.count).toBe(2);
  });
});

describe('issue 11 item 10: tokens that are not macaroons', () => {
  /**
   * A seller whose tokens are opaque (not macaroons), as some L402 servers send: it remembers
   * which invoice each token was issued with and opens the resource for the matching preimage.
   */
  async function opaqueShop(
    token: () => string = () => `tok_${randomBytes(12).toString('hex')}.v1`,
  ) {
    const network = createSandboxNetwork();
    const merchant = network.createNode({ name: 'merchant' });
    const payer = network.createNode({ name: 'payer', balanceSats: 100_000 });
    const issued = new Map<string, string>();
    const server = await recording((request) => {
      const credential = /^L402 (.+):([0-9a-f]{64})$/.exec(
        request.headers.get('authorization') ?? '',
      );
      const hash = credential && issued.get(credential[1]!);
      if (
        hash &&
        createHash('sha256').update(Buffer.from(credential[2]!, 'hex')).digest('hex') === hash
      ) {
        return new Response('the paid content');
      }
      const invoice = merchant.createInvoice({ amountSats: 10 });
      const value = token();
      issued.set(value, invoice.paymentHash);
      return paymentRequired(`L402 token="${value}", invoice="${invoice.invoice}"`);
    });
    return { network, payer, server };
  }

  it('refuses an opaque token by default, saying it is not a macaroon, and pays nothing', async () => {
    const { network, payer, server } = await opaqueShop();
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${server.url}/report`));
    expect(error).toBeInstanceOf(OpaqueTokenError);
    expect(error).toMatchObject({ code: 'OPAQUE_TOKEN', paid: false, amountMsat: 0n });
    expect(error.message).toMatch(
      /is not an L402 macaroon .*so the invoice cannot be checked against it/,
    );
    expect(error.message).toContain('Nothing was paid.');
    await expect(paidFetch.quote(`${server.url}/report`)).rejects.toBeInstanceOf(OpaqueTokenError);
    expect(succeeded(network)).toBe(0);
  });

  it('pays such a server only where the policy allows opaque tokens for its host, and reuses the token', async () => {
    const { network, payer, server } = await opaqueShop();
    const elsewhere = createPaidFetch({
      wallet: payer.wallet,
      policy: { ...loopbackPolicy, allowOpaqueTokens: ['shop.example'] },
    });
    expect(await rejection(elsewhere(`${server.url}/report`))).toBeInstanceOf(OpaqueTokenError);
    const allowed = createPaidFetch({
      wallet: payer.wallet,
      policy: { ...loopbackPolicy, allowOpaqueTokens: ['127.0.0.1'] },
    });
    const first = await allowed(`${server.url}/report`);
    expect(await first.text()).toBe('the paid content');
    expect(first.l402).toMatchObject({ paid: true, amountMsat: 10_000n });
    const again = await allowed(`${server.url}/report`);
    expect(await again.text()).toBe('the paid content');
    expect(again.l402).toMatchObject({ paid: false, usedCachedToken: true });
    expect((await allowed.quote(`${server.url}/report`)).priceMsat).toBe(10_000n);
    expect(succeeded(network)).toBe(1);
  });

  it('refuses, even where allowed, an opaque token that cannot be sent back in a credential', async () => {
    const { network, payer, server } = await opaqueShop(() => 'has space:and colon');
    const paidFetch = createPaidFetch({
      wallet: payer.wallet,
      policy: { ...loopbackPolicy, allowOpaqueTokens: ['127.0.0.1'] },
    });
    const error = await rejection(paidFetch(`${server.url}/report`));
    expect(error).toMatchObject({ code: 'OPAQUE_TOKEN', paid: false });
    expect(error.message).toMatch(/cannot be sent back/);
    expect(succeeded(network)).toBe(0);
  });
});
