import { randomBytes } from 'node:crypto';
import { formatCredential } from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';
import { type BenchTable, round } from './bench-table.js';
import { buyOnce } from './buy-once.js';
import { createFloorVerifier } from './credential-floor.js';
import { measureThroughput, median, type ThroughputResult } from './throughput.js';

const ORIGIN = 'http://api.example';

/**
 * Minting a 402 on main before issue 14 (commit 88c6195: the `macaroon` package's pure-JS HMACs,
 * the new invoice decoded again, invoices signed through bolt11), measured with this harness
 * (9 rounds of 300 ms, built packages) on this machine, in three runs alternating with runs of
 * the new code at the same load (about 5 on 2 cores); medians of the three. See bench/README.md.
 */
export const MINT_BEFORE_ISSUE_14 = {
  commit: '88c6195',
  opsPerSecond: 1761,
  cpuMicrosPerOperation: 555,
};

/**
 * The paywall on its own (no HTTP), as real throughput: credentials verified per second
 * (`verifyCredential`), requests let through with a valid credential (`authorize`) and 402
 * challenges minted per second (`authorize` without a credential: an invoice from the sandbox
 * wallet and a macaroon), beside the floor: the same credential check on bare `node:crypto`.
 */
export async function paywallBench(
  options: { rounds?: number; roundMs?: number } = {},
): Promise<BenchTable> {
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 1_000_000 });
  const rootKey = randomBytes(32);
  const paywall = createPaywall({
    wallet: merchant.wallet,
    rootKey,
    serviceName: 'bench',
    price: 10,
    bindToPath: true,
    bindToMethod: true,
    validForSeconds: 3_600,
  });

  // One real purchase gives the valid credential every verification checks.
  const { challenge: offer, preimage } = await buyOnce(paywall, payer.wallet, `${ORIGIN}/article`);
  const credential = formatCredential({
    scheme: 'L402',
    macaroon: offer.macaroon,
    preimage,
  });
  const forged = formatCredential({
    scheme: 'L402',
    macaroon: offer.macaroon,
    preimage: randomBytes(32).toString('hex'),
  });
  const scope = { path: '/article', method: 'GET' };
  const paidRequest = new Request(`${ORIGIN}/article`, { headers: { authorization: credential } });
  const floor = createFloorVerifier(rootKey, 'bench');
  const nowSeconds = () => Date.now() / 1000;
  if (
    !floor(credential, scope.path, scope.method, nowSeconds()) ||
    floor(forged, '/article', 'GET', nowSeconds())
  ) {
    throw new Error('the floor verifier is wrong');
  }

  const results = await measureThroughput(
    [
      {
        name: 'floor: the same check on bare node:crypto',
        run: () => {
          if (!floor(credential, scope.path, scope.method, nowSeconds()))
            throw new Error('refused');
        },
      },
      {
        name: 'verifyCredential (valid)',
        run: () => {
          if (!paywall.verifyCredential(credential, scope).ok) throw new Error('valid refused');
        },
      },
      {
        name: 'verifyCredential (forged preimage)',
        run: () => {
          if (paywall.verifyCredential(forged, scope).ok) throw new Error('forgery accepted');
        },
      },
      {
        name: 'authorize (valid credential)',
        run: async () => {
          if (!(await paywall.authorize(paidRequest)).ok) throw new Error('valid refused');
        },
      },
      {
        name: 'authorize (no credential: mint a 402)',
        run: async () => {
          const result = await paywall.authorize(new Request(`${ORIGIN}/article`));
          if (result.ok || result.response.status !== 402) throw new Error('no 402');
        },
      },
    ],
    { rounds: options.rounds ?? 15, roundMs: options.roundMs ?? 200 },
  );
  const [floorResult, valid, , , mint] = results as [
    ThroughputResult,
    ThroughputResult,
    ThroughputResult,
    ThroughputResult,
    ThroughputResult,
  ];
  // Paired by round (the two ran within the same round, under the same load), median of rounds.
  const verifyRatio = median(
    valid.roundRates.map((rate, round) => rate / floorResult.roundRates[round]!),
  );
  const verifyCpuRatio = floorResult.cpuMicrosPerOperation / valid.cpuMicrosPerOperation;
  const mintCpuRatio = MINT_BEFORE_ISSUE_14.cpuMicrosPerOperation / mint.cpuMicrosPerOperation;
  return {
    id: 'paywall',
    title: 'Paywall server: real throughput beside the node:crypto floor (one core, no HTTP)',
    rows: results.map((result) => ({
      operation: result.name,
      'ops/s': round(result.opsPerSecond, 0),
      'x floor': round(result.opsPerSecond / floorResult.opsPerSecond),
      'p50 µs': round(result.p50Micros),
      'p99 µs': round(result.p99Micros),
      'CPU µs per op': round(result.cpuMicrosPerOperation),
    })),
    notes: [
      'ops/s = operations / elapsed time of a round (GC pauses included), median of the rounds; the tasks run interleaved, each for a short slice per round in rotating order, so load from other processes falls on all alike.',
      'The floor runs the same checks as verifyCredential directly on node:crypto (bench/credential-floor.ts): header split, base64 decode, V2 field walk, the HMAC chain with the derived key computed once, signature and sha256(preimage) compared in constant time, services/path/method/expiry caveats.',
      'The token is bound to path, method and an expiry, so every verification checks the HMAC chain, the preimage and four caveats.',
      `Minting a 402 asks the sandbox wallet for a signed BOLT11 invoice (secp256k1) and mints a macaroon; a real node adds its own invoice latency. Before issue 14 (${MINT_BEFORE_ISSUE_14.commit}) it ran at ${MINT_BEFORE_ISSUE_14.opsPerSecond} ops/s, ${MINT_BEFORE_ISSUE_14.cpuMicrosPerOperation} CPU µs per 402.`,
    ],
    targets: [
      {
        target: 'paywall verifyCredential / node:crypto floor (ops/s, paired by round)',
        value: round(verifyRatio),
        goal: '>= 0.8',
        met: verifyRatio >= 0.8,
      },
      {
        target: 'paywall verifyCredential / node:crypto floor (CPU per op)',
        value: round(verifyCpuRatio),
        goal: '>= 0.8',
        met: verifyCpuRatio >= 0.8,
      },
      {
        target: `minting a 402 / before issue 14 (ops/s, ${MINT_BEFORE_ISSUE_14.commit})`,
        value: round(mint.opsPerSecond / MINT_BEFORE_ISSUE_14.opsPerSecond),
        goal: '>= 2',
        met: mint.opsPerSecond / MINT_BEFORE_ISSUE_14.opsPerSecond >= 2,
      },
      {
        target: `minting a 402 / before issue 14 (CPU per op, ${MINT_BEFORE_ISSUE_14.commit})`,
        value: round(mintCpuRatio),
        goal: '>= 2',
        met: mintCpuRatio >= 2,
      },
    ],
  };
}
