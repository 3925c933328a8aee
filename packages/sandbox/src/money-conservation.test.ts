import type { L402Error } from '@l402kit/core';
import fc from 'fast-check';
import { describe, expect, test, vi } from 'vitest';
import { createSandboxNetwork, type SandboxNetwork } from './sandbox-network.js';
import type { SandboxFaultKind, SandboxNode } from './sandbox-types.js';
import { pay } from './test-helpers.js';

/**
 * Each node's balance follows from the ledger alone: what it started with, minus what it sent
 * (amount and fee, also while pending), plus what it received.
 */
function expectLedgerExplainsBalances(
  network: SandboxNetwork,
  starting: Map<string, bigint>,
): void {
  const expected = new Map(starting);
  let fees = 0n;
  let pending = 0n;
  for (const payment of network.payments) {
    if (payment.state === 'failed') continue;
    const sent = payment.amountMsat + payment.feeMsat;
    expected.set(payment.payer, (expected.get(payment.payer) ?? 0n) - sent);
    if (payment.state === 'pending') pending += sent;
    else {
      fees += payment.feeMsat;
      if (payment.payee !== undefined) {
        expected.set(payment.payee, (expected.get(payment.payee) ?? 0n) + payment.amountMsat);
      }
    }
  }
  for (const node of network.nodes) {
    expect(node.balanceMsat).toBe(expected.get(node.name));
    expect(node.balanceMsat >= 0n).toBe(true);
  }
  expect(network.feesCollectedMsat).toBe(fees);
  expect(network.pendingMsat).toBe(pending);
  expect(network.totalMsat()).toBe(network.fundedMsat);
}

const faultKinds: SandboxFaultKind[] = [
  'no-route',
  'insufficient-balance',
  'already-paid',
  'hang-then-settle',
  'hang-then-fail',
];

type Step =
  | {
      type: 'pay';
      from: number;
      to: number;
      amountMsat: bigint;
      maxFeeMsat: bigint;
      reuse: boolean;
    }
  | { type: 'fault'; kind: SandboxFaultKind; times: number }
  | { type: 'resolve'; how: 'settle' | 'fail' | 'planned' };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('pay' as const),
      from: fc.nat(3),
      to: fc.nat(3),
      amountMsat: fc.bigInt(1n, 400_000n),
      maxFeeMsat: fc.bigInt(0n, 2_000n),
      reuse: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('fault' as const),
      kind: fc.constantFrom(...faultKinds),
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('resolve' as const),
      how: fc.constantFrom('settle' as const, 'fail' as const, 'planned' as const),
    }),
  },
);

describe('money is conserved', () => {
  test('through any sequence of payments, faults and resolutions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArbitrary, { minLength: 1, maxLength: 25 }),
        fc.bigInt(0n, 1_500n),
        fc.integer({ min: 0, max: 20_000 }),
        async (steps, feeBaseMsat, feeRatePpm) => {
          const network = createSandboxNetwork({ feeBaseMsat, feeRatePpm });
          const nodes: SandboxNode[] = [0, 1, 2, 3].map((index) =>
            network.createNode({ name: `n${index}`, balanceMsat: BigInt(index) * 300_001n }),
          );
          const starting = new Map(nodes.map((node) => [node.name, node.balanceMsat]));
          const invoices: {
            created: ReturnType<SandboxNode['createInvoice']>;
            amountMsat: bigint;
          }[] = [];
          const outcomes: Promise<unknown>[] = [];

          for (const step of steps) {
            if (step.type === 'fault') network.injectFault({ kind: step.kind, times: step.times });
            else if (step.type === 'resolve') {
              if (step.how === 'settle') network.settlePending();
              else if (step.how === 'fail') network.failPending();
              else network.resolvePending();
            } else {
              const payer = nodes[step.from] as SandboxNode;
              const payee = nodes[step.to] as SandboxNode;
              const reused = step.reuse ? invoices.at(-1) : undefined;
              const target = reused ?? {
                created: payee.createInvoice({ amountMsat: step.amountMsat }),
                amountMsat: step.amountMsat,
              };
              invoices.push(target);
              // Not awaited: hung payments stay open while later steps run.
              const paying = pay(payer, target.created, target.amountMsat, {
                maxFeeMsat: step.maxFeeMsat,
                timeoutMs: Number.POSITIVE_INFINITY,
              });
              outcomes.push(
                paying.catch((error: L402Error) => {
                  // Only typed refusals, each saying whether money moved.
                  expect(error.code).toMatch(/^[A-Z_]+$/);
                  expect(error.paid).toBe(false);
                }),
              );
            }
            expectLedgerExplainsBalances(network, starting);
          }
          network.resolvePending();
          await Promise.all(outcomes);
          expect(network.pendingMsat).toBe(0n);
          expectLedgerExplainsBalances(network, starting);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('1,000 concurrent payments keep balances exact', async () => {
    vi.useFakeTimers();
    try {
      const network = createSandboxNetwork({ feeBaseMsat: 1n, feeRatePpm: 1_000, latencyMs: 20 });
      // Enough for exactly 600 of the 1,000 payments of 1,000 msat + 2 msat fee.
      const payer = network.createNode({ name: 'payer', balanceMsat: 600n * 1_002n });
      const merchants = [0, 1, 2, 3].map((index) => network.createNode({ name: `m${index}` }));
      const invoices = Array.from({ length: 1_000 }, (_, index) =>
        (merchants[index % 4] as SandboxNode).createInvoice({ amountMsat: 1_000n }),
      );

      const settled = Promise.allSettled(invoices.map((created) => pay(payer, created, 1_000n)));
      // All 600 affordable payments are in flight at once, their money locked.
      expect(network.pendingMsat).toBe(600n * 1_002n);
      expect(payer.balanceMsat).toBe(0n);
      await vi.advanceTimersByTimeAsync(20);
      const results = await settled;

      const succeeded = results.filter((result) => result.status === 'fulfilled');
      const refused = results.filter((result) => result.status === 'rejected');
      expect(succeeded).toHaveLength(600);
      expect(refused.every((result) => result.reason.code === 'INSUFFICIENT_BALANCE')).toBe(true);
      expect(payer.balanceMsat).toBe(0n);
      for (const merchant of merchants) expect(merchant.balanceMsat).toBe(150n * 1_000n);
      expect(network.feesCollectedMsat).toBe(600n * 2n);
      expect(network.pendingMsat).toBe(0n);
      expect(network.totalMsat()).toBe(network.fundedMsat);
    } finally {
      vi.useRealTimers();
    }
  });
});
