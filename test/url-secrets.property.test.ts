// Secrets in URLs (userinfo, query, fragment) never reach a message, an event, an error's
// cause chain, a receipt, a spend log line or a tool result, whichever way the call fails.
// fast-check picks the secrets, the URL form and the error path; the servers are real.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  createBudget,
  createL402Tools,
  createPaidFetch,
  createSpendLog,
  type PaidFetchEvent,
  type PaidFetchOptions,
} from '@l402kit/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropMidBody, type HostileSeller, startHostileSeller } from './support/hostile-seller.js';

let seller: HostileSeller;
let silent: Server;
let silentUrl: string;
let redirecting: Server;
let redirectingUrl: string;
let closedPort: number;
let directory: string;
/** Where the redirecting server sends the next request (set per run). */
let redirectTarget = '';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  seller = await startHostileSeller((_request, response) => dropMidBody(response));
  silent = createServer(() => {});
  silentUrl = await listen(silent);
  redirecting = createServer((_request, response) =>
    response.writeHead(302, { location: redirectTarget }).end(),
  );
  redirectingUrl = await listen(redirecting);
  const probe = createServer();
  closedPort = Number(new URL(await listen(probe)).port);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  directory = await mkdtemp(join(tmpdir(), 'l402kit-secrets-'));
});

afterAll(async () => {
  await seller.close();
  for (const server of [silent, redirecting]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await rm(directory, { recursive: true, force: true });
});

// Secrets that cannot occur in l402kit's own text by chance.
const secret = fc.stringMatching(/^[A-Za-z0-9]{6,16}$/).map((text) => `Zq${text}`);

const errorPaths = [
  'refused-port',
  'unresolvable-host',
  'unresolvable-host-checked',
  'invalid-url',
  'userinfo',
  'userinfo-with-body',
  'dropped-after-payment',
  'headers-never-come',
  'redirect-to-secret',
  'policy-denied',
  'fetch-error-with-url',
] as const;
type ErrorPath = (typeof errorPaths)[number];

interface Secrets {
  user: string;
  password: string;
  query: string;
  fragment: string;
}

/** The URL a call is given for `path`, carrying `secrets` where that path allows them. */
function urlFor(path: ErrorPath, secrets: Secrets, withUserinfo: boolean): string {
  const userinfo = withUserinfo ? `${secrets.user}:${secrets.password}@` : '';
  const tail = `/item?key=${secrets.query}&x=1#${secrets.fragment}`;
  const loopback = (base: string) => base.replace('http://', `http://${userinfo}`) + tail;
  switch (path) {
    case 'refused-port':
    case 'fetch-error-with-url':
      return loopback(`http://127.0.0.1:${closedPort}`);
    case 'unresolvable-host':
    case 'unresolvable-host-checked':
      return `http://${userinfo}no-such-host-${secrets.user.toLowerCase()}.invalid${tail}`;
    case 'invalid-url':
      return `http://${userinfo}exa mple.com${tail}`;
    case 'userinfo':
    case 'userinfo-with-body':
      return `http://${secrets.user}:${secrets.password}@${seller.url.slice(7)}${tail}`;
    case 'dropped-after-payment':
      return `${seller.url}${tail}`;
    case 'headers-never-come':
      return loopback(silentUrl);
    case 'redirect-to-secret':
      return `${redirectingUrl}/start`;
    case 'policy-denied':
      return loopback('http://denied.example');
  }
}

function optionsFor(path: ErrorPath, secrets: Secrets): Partial<PaidFetchOptions> {
  const checked = path === 'unresolvable-host-checked' || path === 'policy-denied';
  const options: Partial<PaidFetchOptions> = {
    policy: {
      allowPrivateNetwork: !checked,
      requireHttps: false,
      ...(path === 'policy-denied' ? { deniedHosts: ['denied.example'] } : {}),
    },
    headersTimeoutMs: path === 'headers-never-come' ? 30 : 5_000,
  };
  if (path === 'fetch-error-with-url') {
    // As undici words some failures: the full URL inside the message and a property.
    options.fetch = async (input) => {
      const url = String(input);
      throw new TypeError(`fetch to ${url} failed`, {
        cause: Object.assign(new Error(`connect ECONNREFUSED ${url}`), { input: url }),
      });
    };
  }
  if (path === 'redirect-to-secret') {
    redirectTarget = `http://${secrets.user}:${secrets.password}@127.0.0.1:${closedPort}/next?key=${secrets.query}#${secrets.fragment}`;
  }
  return options;
}

/** Everything a caller, a log or a model could see of an outcome, as text. */
function visible(outcome: unknown): string {
  return [
    inspect(outcome, { depth: 12, showHidden: false }),
    outcome instanceof Error ? `${outcome.message}\n${outcome.stack}` : '',
    JSON.stringify(outcome, (_key, value) =>
      typeof value === 'bigint' ? value.toString() : value,
    ) ?? '',
  ].join('\n');
}

describe('issue 11 item 7: URL secrets never leak', () => {
  it('issue 11 item 7: no message, cause, event, receipt, spend log line or tool result carries URL userinfo, query or fragment', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...errorPaths),
        fc.record({ user: secret, password: secret, query: secret, fragment: secret }),
        fc.boolean(),
        fc.constantFrom('GET', 'POST'),
        async (path, secrets, withUserinfo, method) => {
          const url = urlFor(path, secrets, withUserinfo);
          const events: PaidFetchEvent[] = [];
          const logPath = join(directory, `${path}-${secrets.query}.jsonl`);
          const paidFetch = createPaidFetch({
            wallet: seller.payer.wallet,
            budget: createBudget({ name: 'test', maxSats: 1_000_000 }),
            onEvent: (event) => events.push(event),
            spendLog: createSpendLog(logPath),
            ...optionsFor(path, secrets),
          });
          const body = path === 'userinfo-with-body' || method === 'POST' ? 'payload' : undefined;
          const outcomes: unknown[] = [];
          const settle = async (run: () => Promise<unknown>) => {
            try {
              const result = await run();
              // A returned Response keeps its own `url`, as fetch's does; what l402kit adds is checked.
              if (!(result instanceof Response)) outcomes.push(result);
              else {
                outcomes.push((result as { l402?: unknown }).l402);
                outcomes.push(await result.text().catch((error: unknown) => error));
              }
            } catch (error) {
              outcomes.push(error);
            }
          };
          await settle(() => paidFetch(url, { method, ...(body ? { body } : {}) }));
          await settle(() => paidFetch.quote(url));
          const tools = createL402Tools({ paidFetch });
          for (const name of ['l402_fetch', 'l402_quote']) {
            const tool = tools.find((each) => each.name === name)!;
            outcomes.push(await tool.execute({ url, method, ...(body ? { body } : {}) }));
          }
          outcomes.push(...events);
          outcomes.push(await readFile(logPath, 'utf8').catch(() => ''));
          const seen = outcomes.map(visible).join('\n');
          for (const value of Object.values(secrets)) expect(seen).not.toContain(value);
        },
      ),
      { numRuns: 60 },
    );
  });
});
