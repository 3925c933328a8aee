import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../database/sqlite-database.js';
import { createBudget } from './budget.js';
import { settleLeftOpen } from './settle-open-reservations.js';
import { openSqliteLedger } from './sqlite-ledger.js';

const directory = mkdtempSync(join(tmpdir(), 'l402kit-settle-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;

/** A reservation a process left open in a shared SQLite file before it died, and a second process on that file. */
function leftOpenByAnother() {
  const path = join(directory, `ledger-${files++}.db`);
  const dead = openSqliteDatabase(path);
  const paymentHash = 'ab'.repeat(32);
  const reserving = createBudget({ name: 'daily', maxSats: 100, ledger: openSqliteLedger(dead) })
    .reserve({ amountMsat: 10_000n, maxFeeMsat: 2_000n, host: 'a.test', paymentHash })
    .then(() => dead.close());
  const live = openSqliteDatabase(path);
  const ledger = openSqliteLedger(live);
  return { reserving, ledger, live, path, paymentHash };
}

describe('settleLeftOpen', () => {
  it('charges a payment another process left open exactly once, however often it is settled', async () => {
    const { reserving, ledger, paymentHash } = leftOpenByAnother();
    await reserving;
    const budget = createBudget({ name: 'daily', maxSats: 100, ledger });
    expect(await budget.status()).toMatchObject({ reservedMsat: 12_000n, spentMsat: 0n });
    await settleLeftOpen([budget], paymentHash, { paid: true, feeMsat: 500n });
    await settleLeftOpen([budget], paymentHash, { paid: true, feeMsat: 500n });
    expect(await budget.status()).toMatchObject({ reservedMsat: 0n, spentMsat: 10_500n });
    expect(await ledger.openEntries()).toEqual([]);
  });

  it('releases it when the wallet says the payment failed', async () => {
    const { reserving, ledger, paymentHash } = leftOpenByAnother();
    await reserving;
    const budget = createBudget({ name: 'daily', maxSats: 100, ledger });
    await settleLeftOpen([budget], paymentHash, { paid: false });
    expect(await budget.status()).toMatchObject({ reservedMsat: 0n, spentMsat: 0n });
  });

  it('leaves it counted, without rejecting, when the ledger cannot be written', async () => {
    const { reserving, ledger, live, path, paymentHash } = leftOpenByAnother();
    await reserving;
    const budget = createBudget({ name: 'daily', maxSats: 100, ledger });
    live.close();
    await expect(
      settleLeftOpen([budget], paymentHash, { paid: true, feeMsat: 0n }),
    ).resolves.toBeUndefined();
    const reopened = openSqliteLedger(openSqliteDatabase(path));
    expect(await reopened.openEntries({ paymentHash })).toHaveLength(1);
  });
});
