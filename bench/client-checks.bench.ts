import { randomBytes } from 'node:crypto';
import {
  createBudget,
  decodeInvoice,
  decodeMacaroon,
  isPreimageFor,
  MemoryTokenStore,
  parseL402Challenge,
  type StoredToken,
  tokenTarget,
} from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';
import { type BenchTable, round } from './bench-table.js';
import { buyOnce } from './buy-once.js';
import { measureThroughput } from './throughput.js';

/**
 * What the checks cost that l402kit makes in a buy cycle and the peer clients do not: each
 * one alone on a real 402 from the paywall, in microseconds of CPU.
 */
export async function clientChecksBench(
  options: { rounds?: number; roundMs?: number } = {},
): Promise<BenchTable> {
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 1_000_000 });
  const paywall = createPaywall({
    wallet: merchant.wallet,
    rootKey: randomBytes(32),
    serviceName: 'bench',
    price: 10,
  });
  const { header, challenge, invoice, preimage } = await buyOnce(
    paywall,
    payer.wallet,
    'http://api.example/article',
  );
  const budget = createBudget({ name: 'bench', maxSatsPerRequest: 1_000 });
  const store = new MemoryTokenStore();
  const url = new URL('http://api.example/article');
  let next = 0;

  const checks: { name: string; run: () => unknown }[] = [
    { name: 'read the challenge (parseL402Challenge)', run: () => parseL402Challenge(header) },
    {
      name: 'decode the invoice and check its signature (decodeInvoice)',
      run: () => decodeInvoice(challenge.invoice),
    },
    {
      name: "decode the macaroon, compare its payment hash with the invoice's",
      run: () => {
        if (decodeMacaroon(challenge.macaroon).identifier.paymentHash !== invoice.paymentHash) {
          throw new Error('mismatch');
        }
      },
    },
    {
      name: 'budget: reserve amount + fee limit, commit the fee',
      run: async () => {
        const reservation = await budget.reserve({
          amountMsat: 10_000n,
          maxFeeMsat: 1_000n,
          host: 'api.example',
        });
        await reservation.commit(0n);
      },
    },
    {
      name: 'token store: claim (pending), then put (paid)',
      run: async () => {
        const target = tokenTarget(new URL(`/article/${next++}`, url), 'GET');
        const token = {
          ...target,
          scheme: 'L402',
          macaroon: challenge.macaroon,
          paymentHash: invoice.paymentHash,
          invoice: challenge.invoice,
          amountMsat: 10_000n,
          feeMsat: 0n,
          state: 'pending',
          createdAt: Date.now(),
          expiresAt: Date.now() + 3_600_000,
        } as StoredToken;
        await store.claim(token);
        await store.put({ ...token, state: 'paid', preimage });
      },
    },
    {
      name: 'check the preimage (isPreimageFor)',
      run: () => isPreimageFor(preimage, invoice.paymentHash),
    },
  ];
  const results = await measureThroughput(checks, {
    rounds: options.rounds ?? 5,
    roundMs: options.roundMs ?? 150,
  });
  const total = results.reduce((sum, each) => sum + each.p50Micros, 0);
  return {
    id: 'client-checks',
    title: "What l402kit's own checks in a buy cycle cost (each alone, on a real 402)",
    rows: [
      ...results.map((each) => ({
        check: each.name,
        'µs (p50)': round(each.p50Micros),
        'CPU µs per op': round(each.cpuMicrosPerOperation),
      })),
      { check: 'sum', 'µs (p50)': round(total), 'CPU µs per op': '' },
    ],
    notes: [
      'The peer clients hand the invoice to the wallet unread: they check no signature, no payment hash against the macaroon, no budget, keep no pending record, and do not check the preimage.',
    ],
  };
}
