import { hostname } from 'node:os';
import { isPreimageFor } from '../protocol/preimage.js';
import { isProcessAlive } from '../system.js';
import type { PaymentStatus, Wallet } from '../wallet.js';
import type { LedgerEntry, SpendLedger } from './spend-ledger.js';

/** `pid@hostname` of this process, recorded with each durable reservation. */
export const LEDGER_OWNER = `${process.pid}@${hostname()}`;

export interface SettleOpenReservationsOptions {
  /**
   * A reservation still "reserved" (paying) by a live process on this machine is left alone
   * until it is this old: that process is still waiting for its wallet. Use the payment
   * timeout plus a margin. Reservations of dead processes are settled at once.
   */
  staleAfterMs: number;
  now?: () => number;
}

export interface OpenReservationsSettled {
  /** The wallet says paid: now counted as spent, with the actual fee. */
  committed: number;
  /** The wallet says failed: no longer counted. */
  released: number;
  /** The wallet cannot tell: still counted in full (as pending), until it can. */
  stillOpen: number;
}

/**
 * Resolves reservations left open in a durable ledger (by a process that crashed, or a
 * payment whose outcome was unknown) through the wallet: each is charged to the levels it was
 * reserved under, exactly once (a second process settling the same entry changes nothing).
 */
export async function settleOpenReservations(
  ledger: SpendLedger,
  wallet: Wallet,
  options: SettleOpenReservationsOptions,
): Promise<OpenReservationsSettled> {
  const now = options.now ?? Date.now;
  const result: OpenReservationsSettled = { committed: 0, released: 0, stillOpen: 0 };
  for (const entry of await ledger.openEntries()) {
    if (entry.state === 'reserved' && isStillBeingPaid(entry, now(), options.staleAfterMs)) {
      continue;
    }
    const status: PaymentStatus =
      entry.paymentHash !== undefined && wallet.lookupPayment
        ? await wallet.lookupPayment(entry.paymentHash).catch(() => ({ state: 'unknown' }) as const)
        : { state: 'unknown' };
    if (
      status.state === 'succeeded' &&
      entry.paymentHash !== undefined &&
      isPreimageFor(status.preimage, entry.paymentHash)
    ) {
      if (await ledger.commit(entry.id, status.feeMsat)) result.committed++;
    } else if (status.state === 'failed') {
      if (await ledger.release(entry.id)) result.released++;
    } else {
      // Its payer is gone and the wallet cannot tell: it stays counted, now as pending.
      await ledger.markUnknown(entry.id);
      result.stillOpen++;
    }
  }
  return result;
}

function isStillBeingPaid(entry: LedgerEntry, now: number, staleAfterMs: number): boolean {
  if (entry.owner === LEDGER_OWNER) return true;
  if (now - entry.reservedAt >= staleAfterMs) return false;
  const [pid, host] = (entry.owner ?? '').split('@');
  // Another machine's process (a shared database server): only its age can tell.
  if (host !== hostname()) return true;
  return isProcessAlive(Number(pid));
}
