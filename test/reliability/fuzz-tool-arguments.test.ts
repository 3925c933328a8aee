// Fuzzing of what a model can put in an l402_fetch call (URL forms, methods, headers, bodies)
// against three real paywalled sellers on loopback (127.0.0.1, .2 and .3) that record every
// request they receive. Sellers redirect across origins, loop on 402, fail after payment.
// Two guarantees must hold whatever the arguments (issue 11, fuzz extension):
// - no credential ever reaches a host other than the one that sold it, and
// - no budget level ever ends above its limit (total, per request, per host; the operator's
//   budget and each call's run budget), and what the budgets count is what the wallet paid.
import { createHash, randomBytes } from 'node:crypto';
import {
  type Budget,
  createBudget,
  createL402Tools,
  createPaidFetch,
  decodeMacaroon,
  MemoryTokenStore,
  parseChallenges,
  parseCredential,
} from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackServer, serveFetch } from '../support/serve-fetch.js';
import { cases } from './support/fuzz.js';

const network = createSandboxNetwork();
const payer = network.createNode({ name: 'payer', balanceSats: 10_000_000 });

interface Seller {
  name: string;
  address: string;
  server: LoopbackServer;
  port: number;
}
const sellers: Seller[] = [];
/** Which seller issued the macaroon with this payment hash. */
const soldBy = new Map<string, string>();
const violations: string[] = [];
let credentialsSeen = 0;

function pathPrice(path: string): number {
  return 1 + (createHash('sha256').update(path).digest()[0]! % 40);
}

async function startSeller(name: string, address: string): Promise<void> {
  const merchant = network.createNode({ name });
  const paywall = createPaywall({
    wallet: merchant.wallet,
    rootKey: randomBytes(32),
    serviceName: name,
    price: (request) => pathPrice(new URL(request.url).pathname),
  });
  const other = () => sellers[(sellers.findIndex((seller) => seller.name === name) + 1) % 3]!;
  const paid = paywall.handler(async (request) => {
    const path = new URL(request.url).pathname;
    if (path.startsWith('/redirect/')) {
      return new Response(null, {
        status: 302,
        headers: { location: `http://${other().address}:${other().port}/paid/from-${name}` },
      });
    }
    if (path.startsWith('/broken/')) return new Response('down', { status: 500 });
    return new Response(`paid content of ${name}${path}`);
  });
  const server = await serveFetch(
    async (request) => {
      const path = new URL(request.url).pathname;
      const authorization = request.headers.get('authorization');
      if (authorization !== null) checkCredential(name, authorization);
      let response: Response;
      if (path.startsWith('/free/')) response = new Response(`free content of ${name}`);
      else if (path.startsWith('/redirect-first/')) {
        response = new Response(null, {
          status: 307,
          headers: { location: `http://${other().address}:${other().port}/paid/x` },
        });
      } else if (path.startsWith('/loop/')) {
        // Takes the payment, then asks again: the credential is never looked at.
        const headers = new Headers(request.headers);
        headers.delete('authorization');
        response = await paid(new Request(request.url, { method: request.method, headers }));
      } else response = await paid(request);
      const challenge = response.headers.get('www-authenticate');
      if (challenge !== null) {
        for (const offered of parseChallenges(challenge)) {
          soldBy.set(decodeMacaroon(offered.macaroon).identifier.paymentHash, name);
        }
      }
      return response;
    },
    { host: address },
  );
  sellers.push({ name, address, server, port: Number(new URL(server.url).port) });
}

/** A credential that some seller sold may only ever reach that seller. */
function checkCredential(receiver: string, authorization: string): void {
  let paymentHash: string;
  try {
    paymentHash = decodeMacaroon(parseCredential(authorization).macaroon).identifier.paymentHash;
  } catch {
    return; // Not a credential l402kit could have made (e.g. a header from the arguments).
  }
  const seller = soldBy.get(paymentHash);
  if (seller === undefined) return;
  credentialsSeen += 1;
  if (seller !== receiver) {
    violations.push(`a credential sold by ${seller} reached ${receiver}`);
  }
}

beforeAll(async () => {
  await startSeller('alpha', '127.0.0.1');
  await startSeller('beta', '127.0.0.2');
  await startSeller('gamma', '127.0.0.3');
});
afterAll(async () => {
  for (const seller of sellers) await seller.server.close();
});

/** The ways a model may spell each seller's host. */
const spellings = [
  [
    '127.0.0.1',
    'localhost',
    'LOCALHOST',
    '[::ffff:7f00:1]',
    '[::ffff:127.0.0.1]',
    '0x7f.1',
    '2130706433',
    '127.1',
  ],
  ['127.0.0.2', '[::ffff:7f00:2]', '127.0.2', '0x7f000002', '[0:0:0:0:0:ffff:127.0.0.2]'],
  ['127.0.0.3', '[::ffff:7f00:3]', '127.0.0.3.', '0177.0.0.3'],
] as const;

const urlArbitrary: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        seller: fc.nat({ max: 2 }),
        spelling: fc.nat({ max: 7 }),
        // Sometimes another seller's port: nothing listens there on this address.
        port: fc.nat({ max: 11 }),
        scheme: fc.oneof(
          { weight: 12, arbitrary: fc.constant('http') },
          { weight: 1, arbitrary: fc.constantFrom('https', 'HTTP', 'ftp', 'file') },
        ),
        userinfo: fc.oneof(
          { weight: 12, arbitrary: fc.constant('') },
          { weight: 1, arbitrary: fc.constantFrom('user:secret@', 'a@') },
        ),
        kind: fc.constantFrom(
          'paid',
          'paid',
          'paid',
          'free',
          'loop',
          'redirect',
          'redirect-first',
          'broken',
        ),
        segment: fc.constantFrom('a', 'b', 'c', 'report', '..%2Fa', 'a/../b', '%61', 'A'),
        query: fc.constantFrom('', '', '?q=1', '?key=secret&x=%00', '#fragment'),
      })
      .map((parts) => {
        const names = spellings[parts.seller]!;
        const host = names[parts.spelling % names.length]!;
        const port =
          parts.port === 11 ? sellers[(parts.seller + 1) % 3]!.port : sellers[parts.seller]!.port;
        return `${parts.scheme}://${parts.userinfo}${host}:${port}/${parts.kind}/${parts.segment}${parts.query}`;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'https://example.com/paid/a',
      'javascript:alert(1)',
      'data:text/plain,hello',
      '//127.0.0.1/paid/a',
      '/paid/a',
      'http://[::1]:1/',
      'http://127.0.0.1:0/',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);

/** Mostly absent: a model sends extra headers and bodies now and then. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
}

const headerArbitrary = sometimes(
  fc.dictionary(
    fc.constantFrom(
      'authorization',
      'Authorization',
      'host',
      'cookie',
      'content-type',
      'content-length',
      'transfer-encoding',
      'x-forwarded-host',
      'accept',
      'x-custom',
      'bad header',
    ),
    fc.oneof(
      fc.constantFrom('L402 AgEEbHNhdA:00', 'Bearer x', 'evil.test', '0', 'chunked', 'text/html'),
      fc.string({ maxLength: 30 }),
    ),
    { maxKeys: 3 },
  ),
);

const callArbitrary = fc.record({
  url: urlArbitrary,
  method: fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'), { nil: undefined }),
  headers: headerArbitrary,
  body: sometimes(fc.string({ maxLength: 2_000 })),
  runBudgetSats: fc.option(fc.integer({ min: 5, max: 200 }), { nil: undefined }),
});

interface Limits {
  total?: bigint;
  perRequest?: bigint;
  perHost?: bigint;
}

/** Spent and pending (reserved is 0 between calls) never above a limit, at any host. */
async function checkBudget(budget: Budget, limits: Limits, where: string): Promise<void> {
  const status = await budget.status();
  expect(status.reservedMsat, where).toBe(0n);
  if (limits.total !== undefined) {
    expect(status.spentMsat + status.pendingMsat, where).toBeLessThanOrEqual(limits.total);
  }
  if (limits.perHost !== undefined) {
    for (const [host, spent] of Object.entries(status.perHost)) {
      expect(spent, `${where}, host ${host}`).toBeLessThanOrEqual(limits.perHost);
    }
  }
}

describe('l402_fetch with random arguments against sellers that record every request', () => {
  it('never sends a credential to another host, and never ends a budget above its limit', async () => {
    const tokenStore = new MemoryTokenStore();
    let paidTotal = 0n;
    let budgetTotal = 0n;
    let calls = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(callArbitrary, { minLength: 1, maxLength: 4 }),
        fc.record({
          total: fc.integer({ min: 20, max: 400 }),
          perRequest: fc.integer({ min: 5, max: 80 }),
          perHost: fc.integer({ min: 10, max: 200 }),
        }),
        async (batch, sats) => {
          const limits: Limits = {
            total: BigInt(sats.total) * 1000n,
            perRequest: BigInt(sats.perRequest) * 1000n,
            perHost: BigInt(sats.perHost) * 1000n,
          };
          const budget = createBudget({
            name: 'operator',
            maxSats: sats.total,
            maxSatsPerRequest: sats.perRequest,
            maxSatsPerHost: sats.perHost,
          });
          const paidFetch = createPaidFetch({
            wallet: payer.wallet,
            budget,
            tokenStore,
            policy: {
              allowPrivateNetwork: true,
              requireHttps: false,
              allowedHosts: ['127.0.0.1', '127.0.0.2', '127.0.0.3', 'localhost'],
            },
            // Loops are remembered per resource; the fuzz keeps every origin payable.
            paymentLoops: { perOrigin: 1_000 },
          });
          const tool = createL402Tools({ paidFetch }).find((each) => each.name === 'l402_fetch')!;
          const paymentsBefore = network.payments.length;
          const runs: { budget: Budget; limits: Limits }[] = [];
          // Concurrent calls: reservations, not luck, must keep every level within its limit.
          await Promise.all(
            batch.map(async (call) => {
              const input = tool.inputSchema.safeParse({
                url: call.url,
                method: call.method,
                headers: call.headers,
                body: call.body,
              });
              if (!input.success) return;
              let run: Budget | undefined;
              if (call.runBudgetSats !== undefined) {
                run = createBudget({ name: 'run', maxSats: call.runBudgetSats });
                runs.push({ budget: run, limits: { total: BigInt(call.runBudgetSats) * 1000n } });
              }
              calls += 1;
              // execute never throws: its failures are text for the model.
              const text = await tool.execute(input.data, run === undefined ? {} : { budget: run });
              expect(typeof text).toBe('string');
            }),
          );
          const where = `batch ${JSON.stringify(batch)}`;
          await checkBudget(budget, limits, where);
          for (const run of runs) await checkBudget(run.budget, run.limits, where);
          const paid = network.payments
            .slice(paymentsBefore)
            .filter((payment) => payment.state === 'succeeded')
            .reduce((sum, payment) => sum + payment.amountMsat + payment.feeMsat, 0n);
          // The operator's budget counts exactly what the wallet paid.
          const { spentMsat } = await budget.status();
          expect(spentMsat, where).toBe(paid);
          paidTotal += paid;
          budgetTotal += spentMsat;
          expect(violations, where).toEqual([]);
        },
      ),
      { numRuns: cases('toolArguments') },
    );
    console.log(
      `tool-argument fuzz: ${calls} calls, ${network.payments.filter((payment) => payment.state === 'succeeded').length} payments, ${credentialsSeen} credentials received`,
    );
    expect(budgetTotal).toBe(paidTotal);
    // The sellers were really paid and credentials really sent, or the property proved nothing.
    expect(paidTotal).toBeGreaterThan(0n);
    expect(credentialsSeen).toBeGreaterThan(0);
    expect(calls).toBeGreaterThan(0);
  });
});
