import { get as httpGet } from 'node:http';
import { decodeMacaroon } from '@l402kit/core';
import express from 'express';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { l402Middleware, type PaidIncomingMessage, type PaidToken } from './index.js';
import { createFixture, listen, payChallenge } from './test-helpers.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('Express 5', () => {
  it('charges a mounted route, binds the token to the full path, and keeps the JSON body', async () => {
    const { paywall, buyer } = createFixture({ bindToPath: true, bindToMethod: true });
    const app = express();
    app.use('/api', paywall.nodeMiddleware());
    app.post('/api/echo', express.json(), (request, response) => {
      response.json({
        body: request.body,
        paymentHash: (request as PaidIncomingMessage).l402?.paymentHash,
      });
    });
    const server = await listen(app);
    servers.push(server);

    const send = (authorization?: string) =>
      fetch(`${server.url}/api/echo`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(authorization === undefined ? {} : { Authorization: authorization }),
        },
        body: JSON.stringify({ question: 'why?' }),
      });
    const challenged = await send();
    expect(challenged.status).toBe(402);
    const paid = await payChallenge(buyer, challenged);
    // Express strips the mount path from req.url; the caveat must still name the full path.
    expect(decodeMacaroon(paid.challenge.macaroon).caveats).toEqual([
      'services=research:0',
      'research_path=/api/echo',
      'research_method=POST',
      'research_paid_msat=10000',
    ]);

    const granted = await send(paid.authorization);
    expect(granted.status).toBe(200);
    expect(await granted.json()).toEqual({
      body: { question: 'why?' },
      paymentHash: paid.invoice.paymentHash,
    });
  });

  it('leaves the body to the body parser when the request is free', async () => {
    const { paywall } = createFixture({
      price: (request) => (new URL(request.url).pathname === '/free' ? 0 : 5),
    });
    const app = express();
    app.use(paywall.nodeMiddleware());
    app.post('/free', express.text({ limit: '1mb' }), (request, response) => {
      response.json({ length: (request.body as string).length });
    });
    const server = await listen(app);
    servers.push(server);
    const response = await fetch(`${server.url}/free`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: 'x'.repeat(300_000),
    });
    expect(await response.json()).toEqual({ length: 300_000 });
  });

  it('answers a malformed credential with a 402 offering both schemes', async () => {
    const { paywall } = createFixture();
    const app = express();
    app.use(paywall.nodeMiddleware());
    app.get('/', (_request, response) => {
      response.send('never');
    });
    const server = await listen(app);
    servers.push(server);
    const response = await fetch(server.url, { headers: { Authorization: 'L402 x:y' } });
    expect(response.status).toBe(402);
    expect(response.headers.get('www-authenticate')).toMatch(/^LSAT .*, L402 /);
  });
});

describe('issue 11 item 11: the router and the paywall read one path', () => {
  // Cheap by default, premium by exact path: the price function as a seller writes it.
  const price = (request: Request) =>
    new URL(request.url).pathname.startsWith('/premium') ? 1_000 : 1;

  it('issue 11 item 11: Express never serves /premium/* for a token bought at /cheap', async () => {
    const { paywall, buyer } = createFixture({ price });
    const app = express();
    app.use(paywall.nodeMiddleware());
    app.get('/premium/*splat', (_request, response) => {
      response.send('premium');
    });
    app.get('/cheap', (_request, response) => {
      response.send('cheap');
    });
    const server = await listen(app);
    servers.push(server);
    const paid = await payChallenge(buyer, await fetch(`${server.url}/cheap`));
    const headers = { Authorization: paid.authorization };
    expect(await (await fetch(`${server.url}/cheap`, { headers })).text()).toBe('cheap');
    // Express matches the raw path against /premium/*splat; the paywall must not read /cheap.
    for (const path of ['/premium/../cheap', '/premium/%2e%2e/cheap', '/premium/.%2E/cheap']) {
      const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        httpGet(`${server.url}/`, { path, headers }, (answer) => {
          let body = '';
          answer.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          answer.on('end', () => resolve({ status: answer.statusCode!, body }));
        }).on('error', reject);
      });
      expect({ path, ...response }).toEqual({
        path,
        status: 400,
        body: '{"error":"invalid_path"}',
      });
    }
  });

  it('issue 11 item 11: Hono decodes %70remium to /premium, and the paywall prices it so', async () => {
    const { paywall, buyer } = createFixture({ price });
    const app = new Hono();
    app.use('*', l402Middleware(paywall));
    app.get('/premium', (context) => context.text('premium'));
    app.get('/cheap', (context) => context.text('cheap'));
    const paid = await payChallenge(buyer, await app.fetch(new Request('http://localhost/cheap')));
    const open = (path: string) =>
      app.fetch(
        new Request(`http://localhost${path}`, { headers: { Authorization: paid.authorization } }),
      );
    expect(await (await open('/cheap')).text()).toBe('cheap');
    expect(await (await open('/%63heap')).text()).toBe('cheap');
    const premium = await open('/%70remium');
    expect(premium.status).toBe(402);
    expect(await premium.json()).toMatchObject({ price_sats: 1_000 });
  });

  it('prices from a JSON body before express.json() and the parser still gets it', async () => {
    const { paywall, buyer } = createFixture({
      price: async (request) => ((await request.json()) as { words: number }).words,
    });
    const app = express();
    app.post(
      '/translate',
      paywall.nodeMiddleware(),
      express.json({ limit: '1mb' }),
      (request, response) => {
        response.json({ received: request.body });
      },
    );
    const server = await listen(app);
    servers.push(server);
    const send = (words: number, authorization?: string) =>
      fetch(`${server.url}/translate`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(authorization === undefined ? {} : { Authorization: authorization }),
        },
        body: JSON.stringify({ words, text: 'x'.repeat(200_000) }),
      });
    const challenged = await send(7);
    expect(await challenged.clone().json()).toMatchObject({ price_sats: 7 });
    const paid = await payChallenge(buyer, challenged);
    const granted = await send(7, paid.authorization);
    expect(granted.status).toBe(200);
    const { received } = (await granted.json()) as { received: { words: number; text: string } };
    expect(received.words).toBe(7);
    expect(received.text).toHaveLength(200_000);
    expect((await send(8, paid.authorization)).status).toBe(402);
  });
});

describe('Hono', () => {
  it('runs as middleware through app.fetch and hands the token to the handler', async () => {
    const { paywall, buyer } = createFixture({ bindToMethod: true });
    const app = new Hono<{ Variables: { l402: PaidToken | undefined } }>();
    app.use('/paid/*', l402Middleware(paywall));
    app.post('/paid/echo', async (context) =>
      context.json({
        body: await context.req.text(),
        paymentHash: context.get('l402')?.paymentHash,
      }),
    );
    app.get('/open', (context) => context.text('free'));

    expect((await app.fetch(new Request('http://localhost/open'))).status).toBe(200);
    const send = (authorization?: string) =>
      app.fetch(
        new Request('http://localhost/paid/echo', {
          method: 'POST',
          body: 'hello',
          headers: authorization === undefined ? {} : { Authorization: authorization },
        }),
      );
    const challenged = await send();
    expect(challenged.status).toBe(402);
    expect(await challenged.clone().json()).toMatchObject({
      error: 'payment_required',
      price_sats: 10,
    });
    const paid = await payChallenge(buyer, challenged);
    const granted = await send(paid.authorization);
    expect(granted.status).toBe(200);
    expect(await granted.json()).toEqual({ body: 'hello', paymentHash: paid.invoice.paymentHash });

    const wrongMethod = await app.fetch(
      new Request('http://localhost/paid/echo', {
        method: 'PUT',
        headers: { Authorization: paid.authorization },
      }),
    );
    expect(wrongMethod.status).toBe(402);
  });

  it('can wrap the whole app with the Fetch handler', async () => {
    const { paywall, buyer } = createFixture();
    const app = new Hono().get('/report', (context) => context.text('the report'));
    const handler = paywall.handler((request) => app.fetch(request));
    const challenged = await handler(new Request('http://localhost/report'));
    expect(challenged.status).toBe(402);
    const paid = await payChallenge(buyer, challenged);
    const granted = await handler(
      new Request('http://localhost/report', { headers: { Authorization: paid.authorization } }),
    );
    expect(await granted.text()).toBe('the report');
  });
});

describe('the Fetch handler', () => {
  it('prices from a copy of the body, so a free request keeps its body', async () => {
    const { paywall } = createFixture({
      price: async (request) => ((await request.text()) === 'free please' ? 0 : 5),
    });
    const handler = paywall.handler(async (request) => new Response(await request.text()));
    const free = await handler(
      new Request('http://localhost/x', { method: 'POST', body: 'free please' }),
    );
    expect(free.status).toBe(200);
    expect(await free.text()).toBe('free please');
    const priced = await handler(new Request('http://localhost/x', { method: 'POST', body: 'no' }));
    expect(priced.status).toBe(402);
  });

  it('gives the inner handler the request with its body and the token that paid', async () => {
    const { paywall, buyer } = createFixture();
    const handler = paywall.handler(async (request, { token }) =>
      Response.json({ body: await request.text(), paymentHash: token?.paymentHash }),
    );
    const challenged = await handler(
      new Request('http://localhost/x', { method: 'POST', body: 'a' }),
    );
    const paid = await payChallenge(buyer, challenged);
    const granted = await handler(
      new Request('http://localhost/x', {
        method: 'POST',
        body: 'payload',
        headers: { Authorization: paid.authorization },
      }),
    );
    expect(await granted.json()).toEqual({
      body: 'payload',
      paymentHash: paid.invoice.paymentHash,
    });
    const token = paywall.verifyCredential(paid.authorization);
    expect(token).toMatchObject({
      ok: true,
      token: { scheme: 'L402', serviceName: 'research', paymentHash: paid.invoice.paymentHash },
    });
  });
});
