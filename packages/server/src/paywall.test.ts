import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import {
  addCaveats,
  decodeBase64,
  decodeInvoice,
  decodeMacaroon,
  encodeBase64,
  formatCredential,
  mintMacaroon,
  parseChallenges,
} from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { PaidIncomingMessage, Paywall, PaywallOptions } from './index.js';
import { createFixture, listen, payChallenge } from './test-helpers.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A plain `http.createServer` app behind the middleware; the inner handler echoes what it got. */
async function serve(paywall: Paywall) {
  const middleware = paywall.nodeMiddleware();
  const inner = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    response.setHeader('Content-Type', 'application/json');
    response.end(
      JSON.stringify({
        method: request.method,
        path: request.url,
        body: Buffer.concat(chunks).toString('utf8'),
        paymentHash: (request as PaidIncomingMessage).l402?.paymentHash ?? null,
      }),
    );
  };
  const server = await listen((request, response) =>
    middleware(request, response, (error) => {
      if (error === undefined) return void inner(request, response);
      response.statusCode = 500;
      response.end();
    }),
  );
  servers.push(server);
  return server;
}

async function setup(options: Partial<PaywallOptions> = {}) {
  const fixture = createFixture(options);
  const server = await serve(fixture.paywall);
  return { ...fixture, url: server.url };
}

/** Buys a token for `path` with `method`, and checks that it opens that resource. */
async function buy(context: Awaited<ReturnType<typeof setup>>, path = '/search', method = 'GET') {
  const challenged = await fetch(context.url + path, { method });
  expect(challenged.status).toBe(402);
  const paid = await payChallenge(context.buyer, challenged);
  return paid;
}

/** A rejected credential gets a fresh 402: status, a readable challenge, a new invoice. */
async function expectFreshChallenge(response: Response, previousInvoice: string) {
  expect(response.status).toBe(402);
  const challenges = parseChallenges(response.headers.get('www-authenticate') ?? '');
  expect(challenges.map((challenge) => challenge.scheme)).toEqual(['LSAT', 'L402']);
  expect(challenges[1]!.invoice).not.toBe(previousInvoice);
  expect(await response.json()).toMatchObject({ error: 'payment_required' });
}

describe('a request without a credential', () => {
  it('gets a 402 with LSAT and L402 challenges our parser reads, and a JSON body', async () => {
    const context = await setup({ price: 1_500n, description: 'One search' });
    const response = await fetch(`${context.url}/search`);
    expect(response.status).toBe(402);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      error: 'payment_required',
      price_sats: 2,
      price_msat: '1500',
      description: 'One search',
      service: 'research',
    });

    const challenges = parseChallenges(response.headers.get('www-authenticate') ?? '');
    expect(challenges.map((challenge) => challenge.scheme)).toEqual(['LSAT', 'L402']);
    const [lsat, l402] = challenges;
    expect(lsat!.macaroon).toBe(l402!.macaroon);
    expect(lsat!.invoice).toBe(l402!.invoice);

    const invoice = decodeInvoice(l402!.invoice);
    expect(invoice.amountMsat).toBe(1_500n);
    expect(invoice.network).toBe('regtest');
    expect(invoice.payee).toBe(context.seller.publicKey);
    expect(invoice.description).toBe('One search');
    const macaroon = decodeMacaroon(l402!.macaroon);
    expect(macaroon.identifier.version).toBe(0);
    expect(macaroon.identifier.paymentHash).toBe(invoice.paymentHash);
    expect(macaroon.identifier.tokenId).toMatch(/^[0-9a-f]{64}$/);
    expect(macaroon.location).toBe('research');
    expect(macaroon.caveats).toEqual(['services=research:0', 'research_paid_msat=1500']);
  });

  it('sends the two challenges as two header lines, as aperture does', async () => {
    const context = await setup();
    const lines = await new Promise<string[]>((resolve, reject) => {
      httpRequest(`${context.url}/search`, (response: IncomingMessage) => {
        response.resume();
        resolve(response.headersDistinct['www-authenticate'] ?? []);
      })
        .on('error', reject)
        .end();
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^LSAT macaroon="[A-Za-z0-9+/=]+", invoice="lnbcrt[a-z0-9]+"$/);
    expect(lines[1]).toMatch(/^L402 macaroon="[A-Za-z0-9+/=]+", invoice="lnbcrt[a-z0-9]+"$/);
  });

  it('offers only L402 when LSAT is turned off', async () => {
    const context = await setup({ offerLsat: false });
    const response = await fetch(`${context.url}/search`);
    const challenges = parseChallenges(response.headers.get('www-authenticate') ?? '');
    expect(challenges.map((challenge) => challenge.scheme)).toEqual(['L402']);
  });

  it('mints a new invoice and token id for every challenge', async () => {
    const context = await setup();
    const first = parseChallenges((await fetch(context.url)).headers.get('www-authenticate')!);
    const second = parseChallenges((await fetch(context.url)).headers.get('www-authenticate')!);
    expect(second[1]!.invoice).not.toBe(first[1]!.invoice);
    expect(decodeMacaroon(second[1]!.macaroon).identifier.tokenId).not.toBe(
      decodeMacaroon(first[1]!.macaroon).identifier.tokenId,
    );
  });
});

describe('a paid credential', () => {
  it('opens the resource, and keeps opening it (tokens are reusable)', async () => {
    const context = await setup();
    const paid = await buy(context);
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(`${context.url}/search?q=1`, {
        headers: { Authorization: paid.authorization },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        path: '/search?q=1',
        paymentHash: paid.invoice.paymentHash,
      });
    }
  });

  it('is accepted under the legacy LSAT scheme', async () => {
    const context = await setup();
    const paid = await buy(context);
    const authorization = formatCredential({
      scheme: 'LSAT',
      macaroon: paid.challenge.macaroon,
      preimage: paid.preimage,
    });
    const response = await fetch(`${context.url}/search`, {
      headers: { Authorization: authorization },
    });
    expect(response.status).toBe(200);
  });

  it('lets a POST body through to the inner handler', async () => {
    const context = await setup({ bindToMethod: true });
    const paid = await buy(context, '/summarize', 'POST');
    const response = await fetch(`${context.url}/summarize`, {
      method: 'POST',
      headers: { Authorization: paid.authorization, 'Content-Type': 'text/plain' },
      body: 'a long article',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ method: 'POST', body: 'a long article' });
  });

  it('still works with an attenuated macaroon that keeps this service', async () => {
    const context = await setup();
    const paid = await buy(context);
    const narrowed = addCaveats(paid.challenge.macaroon, ['services=research:0', 'note=mine']);
    const response = await fetch(`${context.url}/search`, {
      headers: { Authorization: formatCredential({ macaroon: narrowed, preimage: paid.preimage }) },
    });
    expect(response.status).toBe(200);
  });
});

describe('a rejected credential gets a fresh 402', () => {
  const scope = { path: '/search', method: 'GET' };

  it('when the macaroon was signed with another root key', async () => {
    const context = await setup();
    const paid = await buy(context);
    const forged = mintMacaroon({
      rootKey: new Uint8Array(randomBytes(32)),
      identifier: decodeMacaroon(paid.challenge.macaroon).identifier,
      location: 'research',
      caveats: ['services=research:0'],
    });
    const authorization = formatCredential({ macaroon: forged, preimage: paid.preimage });
    const response = await fetch(`${context.url}/search`, {
      headers: { Authorization: authorization },
    });
    await expectFreshChallenge(response, paid.challenge.invoice);
    expect(
      context.paywall.verifyCredential(authorization, { path: '/search', method: 'GET' }),
    ).toEqual({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('when a caveat was changed', async () => {
    const context = await setup({ bindToPath: true });
    const paid = await buy(context, '/cheap');
    const bytes = Buffer.from(decodeBase64(paid.challenge.macaroon));
    const at = bytes.indexOf('research_path=/cheap');
    expect(at).toBeGreaterThan(0);
    bytes.write('research_path=/dear!', at);
    const tampered = encodeBase64(bytes);
    expect(decodeMacaroon(tampered).caveats).toContain('research_path=/dear!');
    const authorization = formatCredential({ macaroon: tampered, preimage: paid.preimage });
    const response = await fetch(`${context.url}/dear!`, {
      headers: { Authorization: authorization },
    });
    await expectFreshChallenge(response, paid.challenge.invoice);
    expect(
      context.paywall.verifyCredential(authorization, { path: '/dear!', method: 'GET' }),
    ).toEqual({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('when the signature was changed', async () => {
    const context = await setup();
    const paid = await buy(context);
    const bytes = Buffer.from(decodeBase64(paid.challenge.macaroon));
    const signature = Buffer.from(decodeMacaroon(paid.challenge.macaroon).signature, 'hex');
    const at = bytes.indexOf(signature);
    expect(at).toBeGreaterThan(0);
    bytes[at + 31] = bytes[at + 31]! ^ 1;
    const authorization = formatCredential({
      macaroon: encodeBase64(bytes),
      preimage: paid.preimage,
    });
    const response = await fetch(`${context.url}/search`, {
      headers: { Authorization: authorization },
    });
    await expectFreshChallenge(response, paid.challenge.invoice);
  });

  it('when the token has expired', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const context = await setup({ validForSeconds: 60, now: () => now });
    const paid = await buy(context);
    const caveats = decodeMacaroon(paid.challenge.macaroon).caveats;
    expect(caveats).toContain(`research_valid_until=${now.getTime() / 1000 + 60}`);
    const send = () =>
      fetch(`${context.url}/search`, { headers: { Authorization: paid.authorization } });

    now = new Date(now.getTime() + 59_999);
    expect((await send()).status).toBe(200);
    now = new Date(now.getTime() + 1);
    await expectFreshChallenge(await send(), paid.challenge.invoice);
    expect(context.paywall.verifyCredential(paid.authorization)).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('when the token was bought for another service under the same root key', async () => {
    const context = await setup();
    const other = createFixture({ rootKey: context.rootKey, serviceName: 'weather' });
    const otherServer = await serve(other.paywall);
    servers.push(otherServer);
    const otherChallenge = await fetch(`${otherServer.url}/search`);
    const paid = await payChallenge(other.buyer, otherChallenge);
    expect(
      (await fetch(`${otherServer.url}/search`, { headers: { Authorization: paid.authorization } }))
        .status,
    ).toBe(200);

    const response = await fetch(`${context.url}/search`, {
      headers: { Authorization: paid.authorization },
    });
    await expectFreshChallenge(response, paid.challenge.invoice);
    expect(context.paywall.verifyCredential(paid.authorization)).toEqual({
      ok: false,
      reason: 'wrong_service',
    });
  });

  it('issue 11 item 12: when a lower-tier token of the same service and key meets a higher-tier paywall', async () => {
    const basic = await setup({ tier: 0 });
    const pro = createFixture({ rootKey: basic.rootKey, tier: 1 });
    const proServer = await serve(pro.paywall);
    const basicToken = await buy(basic);
    const proToken = await payChallenge(pro.buyer, await fetch(`${proServer.url}/search`));
    expect(decodeMacaroon(proToken.challenge.macaroon).caveats).toContain('services=research:1');
    const open = (url: string, authorization: string) =>
      fetch(`${url}/search`, { headers: { Authorization: authorization } });

    await expectFreshChallenge(
      await open(proServer.url, basicToken.authorization),
      basicToken.challenge.invoice,
    );
    expect(pro.paywall.verifyCredential(basicToken.authorization, scope)).toEqual({
      ok: false,
      reason: 'insufficient_tier',
    });
    // A higher tier includes the lower ones.
    expect((await open(proServer.url, proToken.authorization)).status).toBe(200);
    expect((await open(basic.url, proToken.authorization)).status).toBe(200);
    expect((await open(basic.url, basicToken.authorization)).status).toBe(200);
  });

  it('when an attenuation narrows the services to another one', async () => {
    const context = await setup();
    const paid = await buy(context);
    const narrowed = addCaveats(paid.challenge.macaroon, ['services=weather:0']);
    const authorization = formatCredential({ macaroon: narrowed, preimage: paid.preimage });
    const response = await fetch(`${context.url}/search`, {
      headers: { Authorization: authorization },
    });
    await expectFreshChallenge(response, paid.challenge.invoice);
  });

  it('when the path differs from the one paid for', async () => {
    const context = await setup({ bindToPath: true });
    const paid = await buy(context, '/articles/1');
    const open = (path: string) =>
      fetch(context.url + path, { headers: { Authorization: paid.authorization } });
    expect((await open('/articles/1?page=2')).status).toBe(200);
    await expectFreshChallenge(await open('/articles/2'), paid.challenge.invoice);
    await expectFreshChallenge(await open('/articles/1/'), paid.challenge.invoice);
    const request = new Request(`${context.url}/articles/2`, {
      headers: { Authorization: paid.authorization },
    });
    expect(context.paywall.verifyCredential(request)).toEqual({ ok: false, reason: 'wrong_path' });
  });

  it('when the method differs from the one paid for', async () => {
    const context = await setup({ bindToMethod: true });
    const paid = await buy(context, '/search', 'GET');
    const response = await fetch(`${context.url}/search`, {
      method: 'DELETE',
      headers: { Authorization: paid.authorization },
    });
    await expectFreshChallenge(response, paid.challenge.invoice);
    expect(
      context.paywall.verifyCredential(paid.authorization, { path: '/search', method: 'DELETE' }),
    ).toEqual({ ok: false, reason: 'wrong_method' });
  });

  it('when the preimage is wrong, or belongs to another paid token', async () => {
    const context = await setup();
    const paid = await buy(context);
    const second = await buy(context);
    for (const preimage of [randomBytes(32).toString('hex'), second.preimage]) {
      const authorization = formatCredential({ macaroon: paid.challenge.macaroon, preimage });
      const response = await fetch(`${context.url}/search`, {
        headers: { Authorization: authorization },
      });
      await expectFreshChallenge(response, paid.challenge.invoice);
      expect(
        context.paywall.verifyCredential(authorization, { path: '/search', method: 'GET' }),
      ).toEqual({ ok: false, reason: 'preimage_mismatch' });
    }
  });

  it('when the header is not an L402 credential at all', async () => {
    const context = await setup();
    for (const authorization of ['Basic dXNlcjpwYXNz', 'L402 nonsense', 'L402 AgE:zz']) {
      const response = await fetch(`${context.url}/search`, {
        headers: { Authorization: authorization },
      });
      expect(response.status).toBe(402);
    }
  });

  it('names what is wrong: the credential, the macaroon inside it, or its signature', async () => {
    const context = await setup();
    const paid = await buy(context);
    const scope = { path: '/search', method: 'GET' };
    const body = paid.challenge.macaroon.replace(/=+$/, '');
    const cases: Array<[string, string]> = [
      ['', 'missing_credential'],
      ['L402 nonsense', 'malformed_credential'],
      // Base64 in mixed alphabets or with a character no alphabet has: not a credential.
      [
        `L402 ${body.slice(0, 4)}+${body.slice(5, 9)}_${body.slice(10)}:${paid.preimage}`,
        'malformed_credential',
      ],
      [`L402 ${body.slice(0, 8)}*${body.slice(9)}:${paid.preimage}`, 'malformed_credential'],
      [`L402 ${paid.challenge.macaroon}:${paid.preimage.slice(1)}`, 'malformed_credential'],
      // Valid base64 whose bytes are no V2 macaroon.
      [
        `L402 ${Buffer.from('not a macaroon').toString('base64')}:${paid.preimage}`,
        'malformed_macaroon',
      ],
      [
        `L402 ${Buffer.from(paid.challenge.macaroon, 'base64').subarray(0, -5).toString('base64')}:${paid.preimage}`,
        'malformed_macaroon',
      ],
      [
        `L402 ${body.slice(0, 40)}${body[40] === 'B' ? 'C' : 'B'}${body.slice(41)}:${paid.preimage}`,
        'invalid_signature',
      ],
    ];
    for (const [authorization, reason] of cases) {
      expect(context.paywall.verifyCredential(authorization, scope)).toEqual({ ok: false, reason });
    }
    expect(context.paywall.verifyCredential(paid.authorization, scope).ok).toBe(true);
  });
});

describe('pricing', () => {
  it('hands the request to the price function, body included for a POST', async () => {
    const seen: string[] = [];
    const context = await setup({
      price: async (request) => {
        const { words } = (await request.json()) as { words: number };
        seen.push(
          `${request.method} ${new URL(request.url).pathname} ${request.headers.get('x-plan')}`,
        );
        return BigInt(words) * 100n;
      },
    });
    const response = await fetch(`${context.url}/translate`, {
      method: 'POST',
      headers: { 'x-plan': 'basic', 'Content-Type': 'application/json' },
      body: JSON.stringify({ words: 42 }),
    });
    expect(response.status).toBe(402);
    expect(await response.clone().json()).toMatchObject({ price_msat: '4200', price_sats: 5 });
    expect(seen).toEqual(['POST /translate basic']);

    const paid = await payChallenge(context.buyer, response);
    expect(paid.invoice.amountMsat).toBe(4_200n);
    const granted = await fetch(`${context.url}/translate`, {
      method: 'POST',
      headers: { Authorization: paid.authorization },
      body: JSON.stringify({ words: 42 }),
    });
    expect(granted.status).toBe(200);
    expect(await granted.json()).toMatchObject({ body: '{"words":42}' });
    // The paid request is priced again (from the body), and the handler still gets the body.
    expect(seen).toEqual(['POST /translate basic', 'POST /translate null']);
  });

  it('lets a request with price 0 through without a token', async () => {
    const context = await setup({
      price: (request) => (new URL(request.url).pathname === '/free' ? 0 : 5),
    });
    const free = await fetch(`${context.url}/free`);
    expect(free.status).toBe(200);
    expect(await free.json()).toMatchObject({ paymentHash: null });
    expect((await fetch(`${context.url}/paid`)).status).toBe(402);
  });

  it('leaves the body whole for the handler of a free request', async () => {
    const context = await setup({
      price: (request) => (new URL(request.url).pathname === '/free' ? 0 : 5),
    });
    const response = await fetch(`${context.url}/free`, {
      method: 'POST',
      body: 'x'.repeat(100_000),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { body: string }).body).toHaveLength(100_000);
  });

  it('answers 503 without details when the wallet cannot create an invoice', async () => {
    const errors: unknown[] = [];
    const context = await setup({ onError: (error) => errors.push(error) });
    context.seller.wallet.createInvoice = async () => {
      throw new Error('node offline at 10.0.0.5 with key secret');
    };
    const response = await fetch(`${context.url}/search`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('{"error":"invoice_unavailable"}');
    expect(errors).toHaveLength(1);
  });

  it('answers 500 when the price function fails', async () => {
    const errors: unknown[] = [];
    const context = await setup({
      price: () => {
        throw new Error('pricing down');
      },
      onError: (error) => errors.push(error),
    });
    const response = await fetch(`${context.url}/search`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'price_unavailable' });
    expect(errors).toHaveLength(1);
  });
});

/** Sends `path` exactly as written (fetch would resolve `..` before sending). */
function rawRequest(url: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = httpRequest(`${url}/`, { path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    request.on('error', reject).end();
  });
}

describe('issue 11 item 11: a token buys no more than it paid for', () => {
  // Prices as a careless seller writes them: by exact path, query and body, cheap by default.
  const price = async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname === '/premium') return 1_000;
    if (url.searchParams.get('size') === 'large') return 50;
    if (request.method === 'POST') {
      const { words } = (await request.json()) as { words: number };
      return words;
    }
    return request.method === 'HEAD' ? 1 : 2;
  };

  async function expectPriced(response: Response, sats: number) {
    expect(response.status).toBe(402);
    expect(await response.clone().json()).toMatchObject({ price_sats: sats });
  }

  it('issue 11 item 11: a 1-sat token bought for /cheap does not open the 1,000-sat /premium', async () => {
    const context = await setup({ price });
    const paid = await buy(context, '/cheap');
    expect(paid.invoice.amountMsat).toBe(2_000n);
    expect(decodeMacaroon(paid.challenge.macaroon).caveats).toEqual([
      'services=research:0',
      'research_path=/cheap',
      'research_paid_msat=2000',
    ]);
    const open = (path: string) =>
      fetch(context.url + path, { headers: { Authorization: paid.authorization } });
    expect((await open('/cheap')).status).toBe(200);
    await expectPriced(await open('/premium'), 1_000);
    // Even without path binding the price is checked again on every request.
    const unbound = await setup({ price, bindToPath: false });
    const token = await buy(unbound, '/cheap');
    const premium = await fetch(`${unbound.url}/premium`, {
      headers: { Authorization: token.authorization },
    });
    await expectPriced(premium, 1_000);
    expect(
      unbound.paywall.verifyCredential(token.authorization, {
        path: '/premium',
        method: 'GET',
        priceMsat: 1_000_000n,
      }),
    ).toEqual({ ok: false, reason: 'underpaid' });
  });

  it('issue 11 item 11: a token for /cheap?size=small does not open /cheap?size=large', async () => {
    const context = await setup({ price, bindToPath: true });
    const paid = await buy(context, '/cheap?size=small');
    const open = (path: string) =>
      fetch(context.url + path, { headers: { Authorization: paid.authorization } });
    expect((await open('/cheap?size=small')).status).toBe(200);
    expect((await open('/cheap?size=medium')).status).toBe(200); // same price
    await expectPriced(await open('/cheap?size=large'), 50);
    await expectPriced(await open('/cheap?size=large&size=small'), 50);
    // Reordering the query changes nothing the price function does not read.
    await expectPriced(await open('/cheap?other=1&size=large'), 50);
  });

  it('issue 11 item 11: a token for a small POST body does not open a large one, and the handler keeps the body', async () => {
    const context = await setup({ price, bindToMethod: true });
    const send = (words: number, authorization?: string) =>
      fetch(`${context.url}/translate`, {
        method: 'POST',
        headers: authorization === undefined ? {} : { Authorization: authorization },
        body: JSON.stringify({ words }),
      });
    const paid = await payChallenge(context.buyer, await send(3));
    const granted = await send(3, paid.authorization);
    expect(granted.status).toBe(200);
    expect(await granted.json()).toMatchObject({ body: '{"words":3}' });
    await expectPriced(await send(10_000, paid.authorization), 10_000);
  });

  it('issue 11 item 11: a token bought with HEAD does not open GET, which costs more', async () => {
    const context = await setup({ price });
    const challenged = await fetch(`${context.url}/page`, { method: 'HEAD' });
    expect(challenged.status).toBe(402);
    const paid = await payChallenge(context.buyer, challenged);
    const headers = { Authorization: paid.authorization };
    expect((await fetch(`${context.url}/page`, { method: 'HEAD', headers })).status).toBe(200);
    await expectPriced(await fetch(`${context.url}/page`, { headers }), 2);
  });

  it('issue 11 item 11: caveats the buyer adds cannot widen a token', async () => {
    const context = await setup({ price });
    const paid = await buy(context, '/cheap');
    const widened = addCaveats(paid.challenge.macaroon, [
      'research_path=/premium',
      'research_paid_msat=1000000',
      'services=research:9',
    ]);
    const authorization = formatCredential({ macaroon: widened, preimage: paid.preimage });
    for (const path of ['/premium', '/cheap']) {
      const response = await fetch(context.url + path, {
        headers: { Authorization: authorization },
      });
      expect(response.status).toBe(402);
    }
  });

  it('issue 11 item 11: a fixed price raised after the sale charges again', async () => {
    const context = await setup({ price: 10 });
    const paid = await buy(context);
    const dearer = createFixture({ rootKey: context.rootKey, price: 20 });
    const result = dearer.paywall.verifyCredential(paid.authorization, {
      path: '/search',
      method: 'GET',
    });
    expect(result).toEqual({ ok: false, reason: 'underpaid' });
    const cheaper = createFixture({ rootKey: context.rootKey, price: 5 });
    expect(cheaper.paywall.verifyCredential(paid.authorization).ok).toBe(true);
  });

  it('issue 11 item 11: paths that routers read differently are refused, escapes are priced canonically', async () => {
    const context = await setup({ price });
    const paid = await buy(context, '/cheap');
    const headers = { Authorization: paid.authorization };
    for (const path of [
      '/cheap/../premium',
      '/cheap/%2e%2e/premium',
      '/cheap/%2E%2e/premium',
      '/cheap/./../premium',
      '//premium',
      '/cheap//../premium',
      '/cheap\\..\\premium',
      '/cheap%zz',
    ]) {
      const response = await rawRequest(context.url, path, headers);
      expect({ path, ...response }).toEqual({
        path,
        status: 400,
        body: '{"error":"invalid_path"}',
      });
    }
    // `%70remium` is /premium to Hono's router: it is priced (and bound) as /premium.
    const escaped = await rawRequest(context.url, '/%70remium', headers);
    expect(escaped.status).toBe(402);
    expect(JSON.parse(escaped.body)).toMatchObject({ price_sats: 1_000 });
    expect((await rawRequest(context.url, '/%63heap', headers)).status).toBe(200);
    expect(
      context.paywall.verifyCredential(paid.authorization, { path: '/a/../cheap', priceMsat: 1n }),
    ).toEqual({ ok: false, reason: 'invalid_path' });
  });

  it('verifyCredential needs the price when a function sets it', async () => {
    const context = await setup({ price });
    const paid = await buy(context, '/cheap');
    const where = { path: '/cheap', method: 'GET' };
    expect(context.paywall.verifyCredential(paid.authorization, where)).toEqual({
      ok: false,
      reason: 'price_unknown',
    });
    expect(
      context.paywall.verifyCredential(paid.authorization, { ...where, priceMsat: 2_000n }),
    ).toMatchObject({ ok: true, token: { paidMsat: 2_000n } });
  });
});

describe('a body cut off while the price function reads it', () => {
  it('ends in onError (price unavailable), not in a request that hangs', async () => {
    let reading!: () => void;
    const started = new Promise<void>((resolve) => {
      reading = resolve;
    });
    let report!: (error: unknown) => void;
    const reported = new Promise<unknown>((resolve) => {
      report = resolve;
    });
    const context = await setup({
      price: async (request) => {
        reading();
        return (await request.text()).length;
      },
      onError: (error) => report(error),
    });
    const { port } = new URL(context.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /translate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789');
    await started;
    socket.destroy();
    expect(String(await reported)).toMatch(/cut off|aborted/);
  });
});

describe('requestKey: a token opens only the request it was bought for', () => {
  it('hashes the key into the token, hands it to the price function, and checks it', async () => {
    const keys: Array<string | undefined> = [];
    const { paywall, buyer } = createFixture({
      requestKey: (request) => new URL(request.url).searchParams.get('q') ?? '',
      price: (_request, { requestKey }) => {
        keys.push(requestKey);
        return 5;
      },
    });
    const handler = paywall.handler(() => new Response('ok'));
    const { authorization } = await payChallenge(
      buyer,
      await handler(new Request('http://shop.test/report?q=fees')),
    );
    expect(keys).toEqual(['fees']);
    const open = (q: string) =>
      handler(new Request(`http://shop.test/report?q=${q}`, { headers: { authorization } }));
    expect((await open('fees')).status).toBe(200);
    expect((await open('routing')).status).toBe(402);
    expect(paywall.verifyCredential(authorization, { path: '/report', priceMsat: 5_000n })).toEqual(
      { ok: false, reason: 'request_unknown' },
    );
    expect(
      paywall.verifyCredential(authorization, {
        path: '/report',
        priceMsat: 5_000n,
        requestKey: 'routing',
      }),
    ).toEqual({ ok: false, reason: 'wrong_request' });
    expect(
      paywall.verifyCredential(authorization, {
        path: '/report',
        priceMsat: 5_000n,
        requestKey: 'fees',
      }).ok,
    ).toBe(true);
  });

  it('reads the key from a copy: a fixed-price paywall still hands the handler the whole body', async () => {
    const { paywall } = createFixture({
      price: 0,
      requestKey: async (request) => request.text(),
    });
    const response = await paywall.handler(async (request) => new Response(await request.text()))(
      new Request('http://shop.test/echo', { method: 'POST', body: 'hello' }),
    );
    expect(await response.text()).toBe('hello');
  });
});
