// What a process that died left open in durable ledgers, settled through the wallet: all of it
// at start (settleOpenReservations, as the CLI and the MCP server do), or one payment when a
// paid fetch resolves it (settleLeftOpen). Both settle an entry the same way, once.
import { hostname } from 'node:os';
import type { Msat } from '../amount.js';
import { isPreimageFor } from '../protocol/preimage.js';
import { isProcessAlive } from '../system.js';
import type { PaymentStatus, Wallet } from '../wallet.js';
import { type Budget, durableLedgersOf } from './budget.js';
import type { LedgerEntry, SpendLedger } from './spend-ledger.js';

/** What the wallet said about a payment, once it knows. */
export type SettledOutcome = { paid: true; feeMsat: Msat } | { paid: false };

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
    const outcome = await askWallet(wallet, entry.paymentHash);
    if (outcome === undefined) {
      // Its payer is gone and the wallet cannot tell: it stays counted, now as pending.
      await ledger.markUnknown(entry.id);
      result.stillOpen++;
    } else if (await settleEntry(ledger, entry.id, outcome)) {
      result[outcome.paid ? 'committed' : 'released']++;
    }
  }
  return result;
}

/**
 * Settles what another process left open for one payment in the durable ledgers of these
 * budgets (it died between reserving and recording the outcome), once the wallet has told this
 * process the outcome. A ledger settles an entry once, so two processes resolving the same
 * payment charge it once. Never rejects: a ledger that cannot be written leaves the entry
 * counted, for a later try.
 */
export async function settleLeftOpen(
  budgets: Budget[],
  paymentHash: string,
  outcome: SettledOutcome,
): Promise<void> {
  try {
    for (const ledger of await durableLedgersOf(budgets)) {
      for (const entry of await ledger.openEntries({ paymentHash })) {
        await settleEntry(ledger, entry.id, outcome);
      }
    }
  } catch {}
}

/** Paid: spent with the actual fee. Failed: no longer counted. True when this call changed it. */
function settleEntry(ledger: SpendLedger, id: string, outcome: SettledOutcome): Promise<boolean> {
  return outcome.paid ? ledger.commit(id, outcome.feeMsat) : ledger.release(id);
}

/** The wallet's verdict on a payment, or undefined while it cannot tell (or has no hash to ask). */
async function askWallet(
  wallet: Wallet,
  paymentHash: string | undefined,
): Promise<SettledOutcome | undefined> {
  if (paymentHash === undefined || !wallet.lookupPayment) return undefined;
  const status: PaymentStatus = await wallet
    .lookupPayment(paymentHash)
    .catch(() => ({ state: 'unknown' }) as const);
  if (status.state === 'succeeded' && isPreimageFor(status.preimage, paymentHash)) {
    return { paid: true, feeMsat: status.feeMsat };
  }
  return status.state === 'failed' ? { paid: false } : undefined;
}

function isStillBeingPaid(entry: LedgerEntry, now: number, staleAfterMs: number): boolean {
  if (entry.owner === LEDGER_OWNER) return true;
  if (now - entry.reservedAt >= staleAfterMs) return false;
  const [pid, host] = (entry.owner ?? '').split('@');
  // Another machine's process (a shared database server): only its age can tell.
  if (host !== hostname()) return true;
  return isProcessAlive(Number(pid));
}
