import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Budget, createBudget, describeBudget, type Reservation } from './budget.js';
import { BudgetExceededError } from '../errors.js';

const host = 'api.example.com';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('createBudget', () => {
  it('counts msat exactly and never rounds a sub-sat payment to zero', async () => {
    const budget = createBudget({ maxSats: 1 });
    for (let i = 0; i < 999; i++)
      await (await budget.reserve({ amountMsat: 1n, maxFeeMsat: 0n, host })).commit(0n);
    expect((await budget.status()).spentMsat).toBe(999n);
    await (await budget.reserve({ amountMsat: 1n, maxFeeMsat: 0n, host })).commit(0n);
    expect((await budget.status()).remainingMsat).toBe(0n);
    await expect(budget.reserve({ amountMsat: 1n, maxFeeMsat: 0n, host })).rejects.toThrow(
      BudgetExceededError,
    );
  });

  it('accepts fractional sats and msat limits, the smaller winning', async () => {
    expect((await createBudget({ maxSats: 1.5 }).status()).limitMsat).toBe(1500n);
    expect((await createBudget({ maxSats: 2n }).status()).limitMsat).toBe(2000n);
    expect((await createBudget({ maxSats: 10, maxMsat: 2500n }).status()).limitMsat).toBe(2500n);
    expect(() => createBudget({ maxSats: -1 })).toThrow(
      expect.objectContaining({ code: 'BUDGET_CONFIG' }),
    );
    expect(() => createBudget({ maxSats: 0.0001 })).toThrow(
      expect.objectContaining({ code: 'BUDGET_CONFIG' }),
    );
  });

  it('reserves the maximum fee and counts the actual fee once committed', async () => {
    const budget = createBudget({ maxSats: 100 });
    const reservation = await budget.reserve({ amountMsat: 50_000n, maxFeeMsat: 5_000n, host });
    expect(await budget.status()).toMatchObject({ reservedMsat: 55_000n, remainingMsat: 45_000n });
    // The fee reserve counts: 45 sats left, so 45 sats + 1 msat fee does not fit.
    expect(await budget.canAfford(45_000n, 1n, host)).toBe(false);
    expect(await budget.canAfford(45_000n, 0n, host)).toBe(true);
    await reservation.commit(1_234n);
    expect(await budget.status()).toMatchObject({
      spentMsat: 51_234n,
      reservedMsat: 0n,
      pendingMsat: 0n,
      remainingMsat: 48_766n,
      perHost: { [host]: 51_234n },
    });
    expect(reservation.spentMsat).toBe(51_234n);
  });

  it('is unlimited without maxSats while per-request and per-host caps still apply', async () => {
    const budget = createBudget({ maxSatsPerRequest: 10, maxSatsPerHost: 25 });
    expect((await budget.status()).limitMsat).toBeUndefined();
    expect((await budget.status()).remainingMsat).toBeUndefined();
    // Per request: amount + max fee.
    await expect(budget.reserve({ amountMsat: 9_500n, maxFeeMsat: 501n, host })).rejects.toThrow(
      /per-request limit 10 sats/,
    );
    await (await budget.reserve({ amountMsat: 9_500n, maxFeeMsat: 500n, host })).commit(500n);
    await (await budget.reserve({ amountMsat: 10_000n, maxFeeMsat: 0n, host })).commit(0n);
    const error = await rejection(budget.reserve({ amountMsat: 5_001n, maxFeeMsat: 0n, host }));
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect((error as BudgetExceededError).paid).toBe(false);
    expect((error as Error).message).toMatch(/per-host limit 25 sats for api\.example\.com/);
    // Another host has its own allowance; host names are compared case-insensitively.
    await (
      await budget.reserve({ amountMsat: 10_000n, maxFeeMsat: 0n, host: 'other.example' })
    ).commit(0n);
    await expect(
      budget.reserve({ amountMsat: 5_001n, maxFeeMsat: 0n, host: 'API.example.com' }),
    ).rejects.toThrow(BudgetExceededError);
    await (
      await budget.reserve({ amountMsat: 5_000n, maxFeeMsat: 0n, host: 'API.example.com' })
    ).commit(0n);
    expect((await budget.status()).perHost).toEqual({ [host]: 25_000n, 'other.example': 10_000n });
  });

  it('says which level and limit refused, with spent, reserved and pending amounts', async () => {
    const daily = createBudget({ name: 'daily', maxSats: 100 });
    const run = daily.child({ name: 'run 7', maxSats: 1_000 });
    await (await run.reserve({ amountMsat: 60_000n, maxFeeMsat: 0n, host })).commit(0n);
    await run.reserve({ amountMsat: 10_000n, maxFeeMsat: 0n, host });
    await (await run.reserve({ amountMsat: 5_000n, maxFeeMsat: 0n, host })).markUnknown();
    const error = (await rejection(
      run.reserve({
        amountMsat: 25_000n,
        maxFeeMsat: 1_500n,
        host,
        url: 'https://api.example.com/x',
      }),
    )) as BudgetExceededError;
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error.message).toBe(
      'Payment refused by budget "daily": limit 100 sats, spent 60 sats, reserved 10 sats, pending 5 sats, requested 26.5 sats (25 sats + up to 1.5 sats routing fee). Nothing was paid.',
    );
    expect(error.paid).toBe(false);
    expect(error.url).toBe('https://api.example.com/x');
  });

  it('reserves at every level or at none', async () => {
    const daily = createBudget({ name: 'daily', maxSats: 100 });
    const runA = daily.child({ name: 'a', maxSats: 80 });
    const runB = daily.child({ name: 'b', maxSats: 80 });
    await (await runA.reserve({ amountMsat: 70_000n, maxFeeMsat: 0n, host })).commit(0n);
    // Fits run b (80) but not daily (30 left): nothing may be reserved anywhere.
    await expect(runB.reserve({ amountMsat: 40_000n, maxFeeMsat: 0n, host })).rejects.toThrow(
      /"daily"/,
    );
    expect(await runB.status()).toMatchObject({ reservedMsat: 0n, spentMsat: 0n });
    expect(await daily.status()).toMatchObject({ reservedMsat: 0n, spentMsat: 70_000n });
    await (await runB.reserve({ amountMsat: 30_000n, maxFeeMsat: 0n, host })).commit(0n);
    expect((await daily.status()).remainingMsat).toBe(0n);
    expect(await runB.status()).toMatchObject({ remainingMsat: 50_000n, availableMsat: 0n });
    expect((await runB.status()).parent?.name).toBe('daily');
    // A child's own per-request cap applies too.
    const capped = daily.child({ maxSatsPerRequest: 1 });
    await expect(capped.reserve({ amountMsat: 1_001n, maxFeeMsat: 0n, host })).rejects.toThrow(
      /budget "daily\/child": per-request limit 1 sat/,
    );
  });

  it('keeps an unknown outcome counted until the wallet settles it', async () => {
    const budget = createBudget({ maxSats: 10 });
    const reservation = await budget.reserve({ amountMsat: 8_000n, maxFeeMsat: 1_000n, host });
    expect(await reservation.markUnknown()).toBe(true);
    expect(await budget.status()).toMatchObject({
      pendingMsat: 9_000n,
      reservedMsat: 0n,
      remainingMsat: 1_000n,
    });
    expect(await budget.canAfford(2_000n, 0n, host)).toBe(false);
    expect(await reservation.release()).toBe(true);
    expect(await budget.status()).toMatchObject({ pendingMsat: 0n, remainingMsat: 10_000n });

    const later = await budget.reserve({ amountMsat: 8_000n, maxFeeMsat: 1_000n, host });
    await later.markUnknown();
    expect(await later.commit(300n)).toBe(true);
    expect(await budget.status()).toMatchObject({ pendingMsat: 0n, spentMsat: 8_300n });
  });

  it('guards against settling twice', async () => {
    const budget = createBudget({ maxSats: 10 });
    const reservation = await budget.reserve({ amountMsat: 1_000n, maxFeeMsat: 100n, host });
    expect(await reservation.commit(100n)).toBe(true);
    expect(await reservation.commit(100n)).toBe(false);
    expect(await reservation.release()).toBe(false);
    expect(await reservation.markUnknown()).toBe(false);
    expect(await budget.status()).toMatchObject({ spentMsat: 1_100n, reservedMsat: 0n });

    const released = await budget.reserve({ amountMsat: 1_000n, maxFeeMsat: 100n, host });
    expect(await released.release()).toBe(true);
    expect(await released.release()).toBe(false);
    expect(await released.markUnknown()).toBe(false);
    expect(await budget.status()).toMatchObject({ spentMsat: 1_100n, reservedMsat: 0n });
    // The wallet later says it went through after all: the truth is counted, once.
    expect(await released.commit(0n)).toBe(true);
    expect(await released.commit(0n)).toBe(false);
    expect(await budget.status()).toMatchObject({ spentMsat: 2_100n, reservedMsat: 0n });
  });

  it('refuses amounts that are not non-negative bigint msat', async () => {
    const budget = createBudget({ maxSats: 10 });
    await expect(
      budget.reserve({ amountMsat: 5 as unknown as bigint, maxFeeMsat: 0n, host }),
    ).rejects.toThrow(RangeError);
    await expect(budget.reserve({ amountMsat: -1n, maxFeeMsat: 0n, host })).rejects.toThrow(
      RangeError,
    );
    await expect(budget.reserve({ amountMsat: 1n, maxFeeMsat: -1n, host })).rejects.toThrow(
      RangeError,
    );
    expect((await budget.status()).reservedMsat).toBe(0n);
  });

  it('lets exactly k of 1,000 concurrent payments through when the limit fits k', async () => {
    const k = 37;
    const price = 2_000n;
    const fee = 21n;
    const daily = createBudget({ name: 'daily', maxMsat: BigInt(k) * (price + fee) });
    const runs = Array.from({ length: 10 }, (_, i) => daily.child({ name: `run ${i}` }));
    const results = await Promise.allSettled(
      Array.from({ length: 1_000 }, async (_, i) => {
        await new Promise((resolve) => setImmediate(resolve));
        const reservation = await runs[i % runs.length]!.reserve({
          amountMsat: price,
          maxFeeMsat: fee,
          host,
        });
        await new Promise((resolve) => setImmediate(resolve));
        await reservation.commit(fee);
      }),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(k);
    const refusals = results.filter((result) => result.status === 'rejected');
    expect(refusals.every((result) => result.reason instanceof BudgetExceededError)).toBe(true);
    expect(await daily.status()).toMatchObject({
      spentMsat: BigInt(k) * (price + fee),
      reservedMsat: 0n,
    });
  });

  it('describes itself for a model', async () => {
    const daily = createBudget({ name: 'daily', maxSats: 1_000, maxSatsPerHost: 300 });
    const run = daily.child({ name: 'run', maxSats: 100, maxSatsPerRequest: 20 });
    await (await run.reserve({ amountMsat: 10_500n, maxFeeMsat: 0n, host })).commit(0n);
    const text = await describeBudget(run);
    expect(text).toContain('The most one payment may cost now is 20 sats, routing fees included.');
    expect(text).toContain(
      'Budget "run": 89.5 sats left of 100 sats; spent 10.5 sats; at most 20 sats per request',
    );
    expect(text).toContain(
      'Budget "daily": 989.5 sats left of 1,000 sats; spent 10.5 sats; at most 300 sats per host',
    );
    expect(await describeBudget(createBudget())).toBe(
      'Budget "budget": no total limit; spent 0 sats.',
    );
  });
});

// Model-based property: whatever happens, no level holds more than its limit and every
// level's books equal the sum of the reservations beneath it.
describe('budget tree property', () => {
  interface Open {
    reservation: Reservation;
    path: number[];
  }

  const hosts = ['a.test', 'b.test', 'c.test'];
  const command = fc.oneof(
    fc.record({
      kind: fc.constant('reserve' as const),
      node: fc.nat(4),
      amount: fc.bigInt(0n, 40_000n),
      fee: fc.bigInt(0n, 3_000n),
      host: fc.constantFrom(...hosts),
    }),
    fc.record({ kind: fc.constant('commit' as const), pick: fc.nat(), feeShare: fc.nat(100) }),
    fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('unknown' as const), pick: fc.nat() }),
  );

  it('never exceeds a limit and the books always add up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { maxLength: 120 }),
        fc.option(fc.bigInt(0n, 200_000n), { nil: undefined }),
        fc.option(fc.bigInt(1_000n, 60_000n), { nil: undefined }),
        async (commands, rootLimit, perHost) => {
          // Tree: 0 root, 1 and 2 its children, 3 under 1, 4 under 3 (unlimited).
          const root = createBudget({ name: 'root', maxMsat: rootLimit, maxMsatPerHost: perHost });
          const one = root.child({ name: 'one', maxMsat: 120_000n, maxMsatPerRequest: 30_000n });
          const two = root.child({ name: 'two', maxMsat: 80_000n });
          const three = one.child({ name: 'three', maxMsat: 50_000n });
          const four = three.child({ name: 'four' });
          const nodes: Budget[] = [root, one, two, three, four];
          const parents = [-1, 0, 0, 1, 3];
          const pathTo = (node: number) => {
            const path: number[] = [];
            for (let n = node; n !== -1; n = parents[n]!) path.push(n);
            return path;
          };
          const all: Open[] = [];

          for (const step of commands) {
            const open = all.filter((each) => each.reservation.state !== 'committed');
            if (step.kind === 'reserve') {
              const budget = nodes[step.node]!;
              const expected = await budget.canAfford(step.amount, step.fee, step.host);
              try {
                const reservation = await budget.reserve({
                  amountMsat: step.amount,
                  maxFeeMsat: step.fee,
                  host: step.host,
                });
                all.push({ reservation, path: pathTo(step.node) });
                expect(expected).toBe(true);
              } catch (error) {
                expect(error).toBeInstanceOf(BudgetExceededError);
                expect(expected).toBe(false);
              }
            } else if (open.length > 0) {
              const target = open[step.pick % open.length]!.reservation;
              if (step.kind === 'commit' && target.state !== 'released') {
                await target.commit((target.maxFeeMsat * BigInt(step.feeShare)) / 100n);
              } else if (step.kind === 'release') await target.release();
              else if (step.kind === 'unknown') await target.markUnknown();
            }

            for (const [index, budget] of nodes.entries()) {
              const mine = all.filter((each) => each.path.includes(index));
              const sum = (state: string, value: (r: Reservation) => bigint) =>
                mine
                  .filter((each) => each.reservation.state === state)
                  .reduce((total, each) => total + value(each.reservation), 0n);
              const status = await budget.status();
              const held = (r: Reservation) => r.amountMsat + r.maxFeeMsat;
              expect(status.spentMsat).toBe(sum('committed', (r) => r.spentMsat));
              expect(status.reservedMsat).toBe(sum('reserved', held));
              expect(status.pendingMsat).toBe(sum('unknown', held));
              const used = status.spentMsat + status.reservedMsat + status.pendingMsat;
              if (status.limitMsat !== undefined) {
                expect(used).toBeLessThanOrEqual(status.limitMsat);
                expect(status.remainingMsat).toBe(status.limitMsat - used);
              }
              if (perHost !== undefined && index === 0) {
                for (const name of hosts) {
                  const hostUsed = mine
                    .filter((each) => each.reservation.host === name)
                    .reduce((total, each) => {
                      const r = each.reservation;
                      if (r.state === 'committed') return total + r.spentMsat;
                      if (r.state === 'released') return total;
                      return total + held(r);
                    }, 0n);
                  expect(hostUsed).toBeLessThanOrEqual(perHost);
                  expect(status.perHost[name] ?? 0n).toBe(
                    mine
                      .filter(
                        (each) =>
                          each.reservation.host === name && each.reservation.state === 'committed',
                      )
                      .reduce((total, each) => total + each.reservation.spentMsat, 0n),
                  );
                }
              }
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
