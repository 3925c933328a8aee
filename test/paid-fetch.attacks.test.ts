// Attacks on issue 11's guarantees that the per-item tests do not try: a seller that takes
// the payment and redirects to a fresh 402, hostile WWW-Authenticate headers, a 402 with a
// huge body answering the paid retry, a trickling paid body through a real MCP session and a
// compressed body that expands far past the byte limit. Real loopback sellers, real sandbox
// payments.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createBudget, createL402Tools, createPaidFetch, type PaidFetch } from '@l402kit/core';
import { createL402McpServer } from '@l402kit/mcp';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  challengeHeader,
  paymentRequired,
  type RecordingServer,
  serveRecording,
} from './support/crafted-challenge.js';
import { startHostileSeller, succeededPayments } from './support/hostile-seller.js';
import { countingFetch } from './support/counting-fetch.js';
import { rejection, succeeded } from './support/outcomes.js';
import { startPaidApi } from './support/paid-api.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const MiB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function crafted(handler: Parameters<typeof serveRecording>[0]): Promise<RecordingServer> {
  const server = await serveRecording(handler);
  cleanups.push(server.close);
  return server;
}

async function hostileSeller(...args: Parameters<typeof startHostileSeller>) {
  const seller = await startHostileSeller(...args);
  cleanups.push(seller.close);
  return seller;
}

function sandbox() {
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 100_000 });
  return { network, merchant, payer };
}

describe('issue 11 audit, item 9: a payment loop through a redirect', () => {
  it('issue 11 item 9: a seller that takes the payment, then redirects to a fresh 402 on every call, is paid once', async () => {
    const { network, merchant, payer } = sandbox();
    let redirects = 0;
    const server = await crafted((_request, recorded) => {
      if (recorded.path === '/start' && recorded.authorization) {
        // The token is accepted, and the answer sends the buyer to a new paywall every time.
        redirects++;
        return new Response(null, { status: 302, headers: { location: `/next/${redirects}` } });
      }
      return paymentRequired(challengeHeader(merchant.createInvoice({ amountSats: 10 })));
    });
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: loopbackPolicy });
    // The query is a secret of the caller's: no message may carry it (item 7).
    const start = `${server.url}/start?api_key=query-secret-7`;
    const first = await rejection(paidFetch(start));
    expect(first).toMatchObject({ code: 'PAYMENT_LOOP', paid: true, amountMsat: 10_000n });
    expect(first.message).toContain('will not be paid again');
    for (let call = 0; call < 3; call++) {
      const again = await rejection(paidFetch(start));
      expect(again.message).not.toContain('query-secret-7');
      expect(again).toMatchObject({ code: 'PAYMENT_LOOP_REFUSED', paid: false });
      expect(again.message).toContain('Nothing was paid.');
      expect(again.message).toContain(`${server.url}/start, which redirects here,`);
    }
    expect(succeeded(network)).toBe(1);
    expect(await paidFetch.paymentLoops()).not.toHaveLength(0);
  });

  it('issue 11 item 9: the same through a redirect to another origin', async () => {
    const { network, merchant, payer } = sandbox();
    const elsewhere = await crafted(() =>
      paymentRequired(challengeHeader(merchant.createInvoice({ amountSats: 10 }))),
    );
    const server = await crafted((_request, recorded) =>
      recorded.authorization
        ? new Response(null, { status: 307, headers: { location: `${elsewhere.url}/pay-me` } })
        : paymentRequired(challengeHeader(merchant.createInvoice({ amountSats: 10 }))),
    );
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: loopbackPolicy });
    expect(await rejection(paidFetch(`${server.url}/start`))).toMatchObject({
      code: 'PAYMENT_LOOP',
      paid: true,
    });
    expect(await rejection(paidFetch(`${server.url}/start`))).toMatchObject({
      code: 'PAYMENT_LOOP_REFUSED',
      paid: false,
    });
    expect(succeeded(network)).toBe(1);
    // The token went only to the origin that sold it.
    expect(elsewhere.requests.every((request) => request.authorization === null)).toBe(true);
  });
});

/** A raw node:http server on loopback answering every request with `respond`. */
async function rawServer(respond: (response: ServerResponse) => void): Promise<string> {
  const server = createServer((_request, response) => respond(response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('issue 11 audit, items 1 and 2: hostile WWW-Authenticate headers', () => {
  const hugeChallenge = (invoice: string) =>
    `L402 macaroon="${'A'.repeat(MiB)}", invoice="${invoice}"`;

  it('issue 11 item 2: a 402 whose header is past the HTTP limit fails typed, nothing paid, nothing of it echoed', async () => {
    const { network, merchant, payer } = sandbox();
    const url = await rawServer((response) =>
      response
        .writeHead(402, {
          'www-authenticate': hugeChallenge(merchant.createInvoice({ amountSats: 10 }).invoice),
        })
        .end(),
    );
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${url}/huge-header`));
    expect(error).toMatchObject({ code: 'REQUEST_FAILED', paid: false });
    expect(error.message.length).toBeLessThan(1_000);
    const result = await createL402Tools({ paidFetch })
      .find((tool) => tool.name === 'l402_fetch')!
      .execute({ url: `${url}/huge-header` });
    expect(result).toContain('Nothing was paid.');
    expect(result).not.toContain('AAAAAAAA');
    expect(succeeded(network)).toBe(0);
  });

  it('issue 11 item 1: a paid retry answered by a header past the HTTP limit says it was paid, and the next call pays nothing', async () => {
    const seller = await hostileSeller((_request, response, { merchant }) =>
      response
        .writeHead(402, {
          'www-authenticate': hugeChallenge(merchant.createInvoice({ amountSats: 10 }).invoice),
        })
        .end(),
    );
    const paidFetch = createPaidFetch({ wallet: seller.payer.wallet, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${seller.url}/retry-header`));
    expect(error).toMatchObject({ paid: true, amountMsat: 10_000n });
    expect(error.message).toContain('10 sats');
    expect(error.message.length).toBeLessThan(1_000);
    const again = await rejection(paidFetch(`${seller.url}/retry-header`));
    expect(again.paid).not.toBe(true);
    expect(succeededPayments(seller)).toBe(1);
  });

  it('issue 11 item 2: junk challenges up to the header limit are read in one pass and never paid', async () => {
    const { network, merchant, payer } = sandbox();
    const invoice = merchant.createInvoice({ amountSats: 10 }).invoice;
    const junk = [
      `L402 macaroon="${'a'.repeat(15_000)}`,
      `L402 ${'a=b, '.repeat(3_500)}`,
      ','.repeat(15_000),
      `L402 ${'x'.repeat(15_000)}`,
      'L402 a, '.repeat(1_800),
      `L402 macaroon=x, invoice=lnbc1${'q'.repeat(15_000)}`,
      `L402 macaroon=${'A'.repeat(15_000)}, invoice=${invoice}`,
      `${'\\"'.repeat(7_000)}`,
      `L402 macaroon="${'\\'.repeat(15_000)}", invoice=${invoice}`,
    ];
    let current = '';
    const url = await rawServer((response) =>
      response.writeHead(402, { 'www-authenticate': current }).end('pay me'),
    );
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: loopbackPolicy });
    const fetchTool = createL402Tools({ paidFetch }).find((tool) => tool.name === 'l402_fetch')!;
    for (const header of junk) {
      current = header;
      const outcome = await paidFetch(`${url}/junk`).then(
        (response) => ({ status: response.status, paid: response.l402.paid }),
        (error: { code: string; paid: unknown }) => ({ code: error.code, paid: error.paid }),
      );
      expect([header.slice(0, 30), outcome]).toEqual([
        header.slice(0, 30),
        expect.objectContaining({ paid: false }),
      ]);
      const result = await fetchTool.execute({ url: `${url}/junk` });
      expect(result.length).toBeLessThan(5_000);
    }
    expect(succeeded(network)).toBe(0);
  });
});

describe('issue 11 audit, items 1 and 2: what comes back after the payment', () => {
  it('issue 11 item 2: a 402 with a huge body answering the paid retry is not read: PAYMENT_LOOP, paid, the body left unread', async () => {
    let written = 0;
    let closed!: () => void;
    const done = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const seller = await hostileSeller((_request, response, { merchant }) => {
      response.writeHead(402, {
        'www-authenticate': challengeHeader(merchant.createInvoice({ amountSats: 10 })),
        'content-length': String(600 * MiB),
      });
      const chunk = Buffer.alloc(64 * 1024, 'z');
      const pump = () => {
        while (written < 600 * MiB && !response.destroyed) {
          written += chunk.byteLength;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end();
      };
      response.on('close', () => closed());
      pump();
    });
    const paidFetch = createPaidFetch({ wallet: seller.payer.wallet, policy: loopbackPolicy });
    const error = await rejection(paidFetch(`${seller.url}/loop-with-body`));
    expect(error).toMatchObject({ code: 'PAYMENT_LOOP', paid: true, amountMsat: 10_000n });
    await done;
    expect(written).toBeLessThan(64 * MiB);
    expect(succeededPayments(seller)).toBe(1);
  });

  it('issue 11 item 2: a compressed paid body that expands to 1 GiB is read only up to maxResponseBytes', async () => {
    // 64 MiB of text, gzipped, sent again and again: gzip members decode as one stream.
    const member = gzipSync(Buffer.alloc(64 * MiB, 'a'));
    let members = 0;
    const seller = await hostileSeller((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      const pump = () => {
        while (members < 16 && !response.destroyed) {
          members++;
          if (!response.write(member)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    const counting = countingFetch();
    const paidFetch = createPaidFetch({
      wallet: seller.payer.wallet,
      policy: loopbackPolicy,
      fetch: counting.fetch,
    });
    const result = await createL402Tools({ paidFetch, maxResponseBytes: 256 * 1024 })
      .find((tool) => tool.name === 'l402_fetch')!
      .execute({ url: `${seller.url}/bomb` });
    expect(result).toMatch(/^HTTP 200/);
    expect(result).toContain('Paid 10 sats');
    expect(result).toContain('truncated');
    expect(counting.pulled).toBeLessThan(256 * 1024 + 4 * MiB);
    expect(succeededPayments(seller)).toBe(1);
  });

  it('issue 11 items 1 and 2: a paid body that trickles through a real MCP session ends at the deadline, says it was paid, and is not paid again', async () => {
    const seller = await hostileSeller((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => response.write('.'), 5);
      response.on('close', () => clearInterval(timer));
    });
    const paidFetch = createPaidFetch({
      wallet: seller.payer.wallet,
      budget: createBudget({ name: 'operator', maxSats: 1_000 }),
      policy: loopbackPolicy,
      bodyTimeoutMs: 300,
    });
    const client = await mcpSession(paidFetch);
    const first = await callTool(client, 'l402_fetch', { url: `${seller.url}/trickle` });
    expect(first.text).toContain('REQUEST_TIMEOUT');
    expect(first.text).toContain('10 sats');
    expect(first.text).not.toContain('Nothing was paid');
    const status = await callTool(client, 'budget_status');
    expect(status.text).toMatch(/spent 10 sats|10 sats spent|Spent: 10 sats/i);
    const second = await callTool(client, 'l402_fetch', { url: `${seller.url}/trickle` });
    expect(second.text).toContain('REQUEST_TIMEOUT');
    expect(succeededPayments(seller)).toBe(1);
  });
});

async function mcpSession(paidFetch: PaidFetch): Promise<Client> {
  const server = createL402McpServer({ paidFetch, budgetPerSessionSats: 100 });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'attacker-driven-agent', version: '1.0.0' });
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  return client;
}

async function callTool(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { text: result.content.map((part) => (part.type === 'text' ? part.text : '')).join('') };
}

describe('issue 11 audit, item 6: spellings the URL parser turns into one address', () => {
  it('issue 11 item 6: one number, hex, octal, short, trailing-dot and mapped forms of 127.0.0.1 share its per-host cap', async () => {
    const api = await startPaidApi();
    cleanups.push(api.close);
    const port = new URL(api.url).port;
    // 10 sats plus at most 1.1 sats of fee fit once in 15 sats per host.
    const paidFetch = createPaidFetch({
      wallet: api.payer.wallet,
      budget: createBudget({ maxSats: 1_000, maxSatsPerHost: 15 }),
      policy: loopbackPolicy,
    });
    expect((await paidFetch(`http://127.0.0.1:${port}/first`)).l402.paid).toBe(true);
    for (const host of [
      '2130706433',
      '0x7f.1',
      '0x7f000001',
      '0177.0.0.1',
      '127.1',
      '127.000.000.001',
      '127.0.0.1.',
      'LocalHost',
      '[0:0:0:0:0:ffff:7f00:1]',
      '[::FFFF:127.0.0.1]',
    ]) {
      const error = await rejection(paidFetch(`http://${host}:${port}/${host}`));
      expect([host, error.code, error.paid]).toEqual([host, 'BUDGET_EXCEEDED', false]);
    }
    expect(succeeded(api.network)).toBe(1);
  });
});

describe('issue 11 audit, item 3: addresses that reach this machine without naming it', () => {
  it('issue 11 item 3: 0.0.0.0, [::] and their spellings are refused before any request is sent', async () => {
    const { payer } = sandbox();
    const server = await crafted(() => new Response('a loopback-only service'));
    const port = new URL(server.url).port;
    const paidFetch = createPaidFetch({ wallet: payer.wallet, policy: { requireHttps: false } });
    for (const host of ['0.0.0.0', '0', '0x0', '[::]', '[::ffff:0.0.0.0]', '[::127.0.0.1]']) {
      const error = await rejection(paidFetch(`http://${host}:${port}/internal`));
      expect([host, error.code, error.paid]).toEqual([host, 'POLICY_DENIED', false]);
    }
    expect(server.requests).toHaveLength(0);
  });
});
