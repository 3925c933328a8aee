// Size and time limits on what a seller sends back: a huge paid body is read only up to the
// tools' byte limit, a body that trickles forever and headers that never come end at a
// deadline with a typed error that says whether money moved. Real loopback sellers.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createBudget,
  createL402Tools,
  createPaidFetch,
  L402Error,
  type PaidFetchOptions,
} from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type HostileSeller,
  startHostileSeller,
  succeededPayments,
} from './support/hostile-seller.js';
import { countingFetch } from './support/counting-fetch.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const MiB = 1024 * 1024;
const sellers: HostileSeller[] = [];
afterEach(async () => {
  for (const seller of sellers.splice(0)) await seller.close();
});

async function seller(onPaid: Parameters<typeof startHostileSeller>[0]) {
  const started = await startHostileSeller(onPaid);
  sellers.push(started);
  return started;
}

function paidFetchFor(from: HostileSeller, options: Partial<PaidFetchOptions> = {}) {
  return createPaidFetch({
    wallet: from.payer.wallet,
    budget: createBudget({ name: 'test', maxSats: 1_000 }),
    policy: loopbackPolicy,
    ...options,
  });
}

function fetchToolOf(tools: ReturnType<typeof createL402Tools>) {
  return tools.find((tool) => tool.name === 'l402_fetch')!;
}

async function rejection(promise: Promise<unknown>): Promise<L402Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(L402Error);
  return error as L402Error;
}

/** Sends the headers, then one byte every few milliseconds until the client goes away. */
const trickleForever: Parameters<typeof startHostileSeller>[0] = (_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain' });
  const timer = setInterval(() => response.write('.'), 5);
  response.on('close', () => clearInterval(timer));
};

describe('issue 11 item 2: response size and time limits', () => {
  it('issue 11 item 2: l402_fetch streams a 600 MiB paid body, stops at maxResponseBytes and reports the truncation', async () => {
    const total = 600 * MiB;
    let written = 0;
    const from = await seller((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (written < total && !response.destroyed) {
          written += chunk.byteLength;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    // Counts what l402kit pulls off the socket; refuses past 64 MiB so an unbounded read fails fast.
    const counting = countingFetch();
    const paidFetch = paidFetchFor(from, { fetch: counting.fetch });
    const limit = 256 * 1024;
    const result = await fetchToolOf(
      createL402Tools({ paidFetch, maxResponseBytes: limit, maxResponseChars: 1_000 }),
    ).execute({ url: `${from.url}/huge` });
    expect(result).toMatch(/^HTTP 200/);
    expect(result).toContain('Paid 10 sats');
    expect(result).toContain(`truncated: read the first 262,144 bytes of 629,145,600`);
    // Memory stays bounded: what was read is the limit plus at most a few socket chunks.
    expect(counting.pulled).toBeGreaterThanOrEqual(limit);
    expect(counting.pulled).toBeLessThan(limit + 4 * MiB);
    expect(written).toBeLessThan(64 * MiB);
    expect(succeededPayments(from)).toBe(1);
  });

  it('issue 11 item 2: a paid body that trickles forever ends at the body deadline with REQUEST_TIMEOUT, paid and the token kept', async () => {
    const from = await seller(trickleForever);
    const paidFetch = paidFetchFor(from, { bodyTimeoutMs: 300 });
    const response = await paidFetch(`${from.url}/slow`);
    expect(response.l402.paid).toBe(true);
    const error = await rejection(response.text());
    expect(error).toMatchObject({ code: 'REQUEST_TIMEOUT', paid: true, amountMsat: 10_000n });
    expect(error.message).toContain('10 sats');
    expect(error.message).toContain('token is kept');

    const result = await fetchToolOf(createL402Tools({ paidFetch })).execute({
      url: `${from.url}/slow`,
    });
    expect(result).toMatch(/^l402_fetch failed \(REQUEST_TIMEOUT\)/);
    expect(result).toContain('token bought earlier is kept');
    expect(succeededPayments(from)).toBe(1);
  });

  it('issue 11 item 2: a paid retry whose headers never come ends at the headers deadline, paid', async () => {
    const from = await seller(() => {});
    const paidFetch = paidFetchFor(from, { headersTimeoutMs: 300 });
    const error = await rejection(paidFetch(`${from.url}/silent`));
    expect(error).toMatchObject({ code: 'REQUEST_TIMEOUT', paid: true, amountMsat: 10_000n });
    expect(error.message).toContain('token is kept');
    const result = await fetchToolOf(createL402Tools({ paidFetch })).execute({
      url: `${from.url}/silent`,
    });
    expect(result).toMatch(/^l402_fetch failed \(REQUEST_TIMEOUT\)/);
    expect(result).not.toContain('Paid 10 sats');
    expect(succeededPayments(from)).toBe(1);
  });

  it('issue 11 item 2: a first request whose headers never come ends with REQUEST_TIMEOUT and nothing paid', async () => {
    const wallet = (await seller(() => {})).payer.wallet;
    // Accepts connections and never answers anything.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const paidFetch = createPaidFetch({ wallet, policy: loopbackPolicy, headersTimeoutMs: 300 });
      const error = await rejection(paidFetch(`${url}/never`));
      expect(error).toMatchObject({ code: 'REQUEST_TIMEOUT', paid: false });
      expect(error.paymentSummary).toBe('Nothing was paid.');
      const quoteError = await rejection(paidFetch.quote(`${url}/price`));
      expect(quoteError).toMatchObject({ code: 'REQUEST_TIMEOUT', paid: false });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('issue 11 item 2: refuses deadlines and limits that are not positive numbers with a typed error', () => {
    const wallet = { name: 'none', payInvoice: async () => ({ preimage: '', feeMsat: 0n }) };
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => createPaidFetch({ wallet, headersTimeoutMs: bad })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION' }),
      );
      expect(() => createPaidFetch({ wallet, bodyTimeoutMs: bad })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION' }),
      );
      expect(() =>
        createL402Tools({ paidFetch: createPaidFetch({ wallet }), maxResponseBytes: bad }),
      ).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    }
  });
});
