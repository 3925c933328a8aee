import type { Msat } from '../amount.js';

/** One budget level as a ledger keeps it: its limits and, optionally, a rolling time window. */
export interface LevelDefinition {
  /** Unique in the ledger: budgets with the same name in one ledger share its books. */
  name: string;
  /** Limit on spent + reserved + pending (within the window, when there is one). */
  limitMsat?: Msat;
  /** Cap on one payment, amount plus the maximum routing fee. */
  perRequestMsat?: Msat;
  /** Cap on spent + reserved + pending for one host. */
  perHostMsat?: Msat;
  /**
   * Rolling window in milliseconds: a committed payment counts while the time it was reserved
   * lies within the last `windowMs`. Reserved and unknown payments count whatever their age.
   */
  windowMs?: number;
  /**
   * Charged by every l402kit process on this ledger (the CLI and the MCP server), not only by
   * budgets that name it: the levels an operator sets with `l402kit budget set`. Left as it
   * is when a definition leaves it out.
   */
  shared?: boolean;
}

export interface LedgerReserveRequest {
  /** Every level to charge, all or none; the first is the budget's own, then its ancestors. */
  levels: string[];
  amountMsat: Msat;
  maxFeeMsat: Msat;
  /** Canonical host (see `budgetHost`). */
  host: string;
  /** Lets a later process find and settle the reservation through the wallet after a crash. */
  paymentHash?: string;
  description?: string;
}

export type ReservationState = 'reserved' | 'unknown' | 'committed' | 'released';

/** A reservation as the ledger records it. */
export interface LedgerEntry {
  id: string;
  levels: string[];
  host: string;
  amountMsat: Msat;
  maxFeeMsat: Msat;
  paymentHash?: string;
  description?: string;
  state: ReservationState;
  /** Amount + actual fee once committed, otherwise 0. */
  spentMsat: Msat;
  /** Ledger clock, ms since the epoch: the payment's time for windows. */
  reservedAt: number;
  /** `pid@hostname` of the process that reserved it, when the ledger records one. */
  owner?: string;
}

/** The entry a ledger records for a reservation it just made: every ledger builds it the same way. */
export function newReservation(
  id: string,
  levels: string[],
  request: LedgerReserveRequest,
  reservedAt: number,
): LedgerEntry {
  return {
    id,
    levels,
    host: request.host,
    amountMsat: request.amountMsat,
    maxFeeMsat: request.maxFeeMsat,
    ...(request.paymentHash === undefined ? {} : { paymentHash: request.paymentHash }),
    ...(request.description === undefined ? {} : { description: request.description }),
    state: 'reserved',
    spentMsat: 0n,
    reservedAt,
  };
}

/** Which limit refused a reservation, with that level's books at that moment. */
export interface LedgerRefusal {
  level: string;
  rule: 'per request' | 'per host' | 'total';
  limitMsat: Msat;
  spentMsat: Msat;
  reservedMsat: Msat;
  pendingMsat: Msat;
}

export type ReserveOutcome = { entry: LedgerEntry } | { refusal: LedgerRefusal };

/** A level's books now: committed (within its window), reserved, pending. */
export interface LevelBooks {
  level: LevelDefinition;
  spentMsat: Msat;
  reservedMsat: Msat;
  pendingMsat: Msat;
  /** Committed per host (within the window). */
  perHost: Record<string, Msat>;
  /** Reserved + pending per host. */
  heldPerHost: Record<string, Msat>;
}

/**
 * The books of budget levels. A reservation is atomic across every level it names (one
 * transaction in a database ledger), so processes sharing a ledger can never overspend it
 * together. Every method may reject (a database that cannot be read): callers then pay nothing.
 */
export interface SpendLedger {
  /** True when the books outlive the process (a database file or server). */
  readonly durable: boolean;
  /** Creates a level or changes its limits and window; its books are kept. */
  defineLevel(definition: LevelDefinition): Promise<void>;
  /** Every level, by name. */
  listLevels(): Promise<LevelDefinition[]>;
  /** Reserves amount + maximum fee at every level, or nothing and says which limit refused. */
  reserve(request: LedgerReserveRequest): Promise<ReserveOutcome>;
  /**
   * The payment went through: amount + actual fee become spent. Also after `release` (a payment
   * presumed failed that did go through). False when already committed or unknown to the ledger.
   */
  commit(id: string, feeMsat: Msat): Promise<boolean>;
  /** Surely not paid. False once committed or released. */
  release(id: string): Promise<boolean>;
  /** Outcome unknown: stays counted, as pending, until commit or release. */
  markUnknown(id: string): Promise<boolean>;
  /** Books of the named levels, in that order; a level the ledger does not hold is left out. */
  books(levels: string[]): Promise<LevelBooks[]>;
  /** Reservations neither committed nor released (in flight or of unknown outcome). */
  openEntries(filter?: { paymentHash?: string }): Promise<LedgerEntry[]>;
}

const windowUnits: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** '1h', '24h', '7d', '30m', '90s' or a number of milliseconds, as milliseconds. */
export function parseWindow(window: string | number): number {
  if (typeof window === 'number') {
    if (Number.isSafeInteger(window) && window > 0) return window;
  } else {
    const match = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/i.exec(window);
    const value = match ? Number(match[1]) * windowUnits[match[2]!.toLowerCase()]! : Number.NaN;
    if (Number.isSafeInteger(value) && value > 0) return value;
  }
  throw new RangeError(
    `window must be a positive duration like '1h', '24h' or '7d', or milliseconds; got ${String(window)}`,
  );
}

/** '24h' for 86400000, '7d' for a week: the way people say it, exact, for status lines. */
export function formatWindow(windowMs: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = windowUnits[unit]!;
    // Days from two on: "24h" reads better than "1d".
    if (unit === 'd' && windowMs < 2 * size) continue;
    if (windowMs % size === 0) return `${windowMs / size}${unit}`;
  }
  return `${windowMs}ms`;
}

/**
 * The first limit a reservation of `need` for `host` would break, given each level's books
 * (reserved and pending counted whatever their age). Shared by every ledger so they refuse alike.
 */
export function findRefusal(
  levels: { books: LevelBooks; hostBooks: HostBooks }[],
  need: Msat,
): LedgerRefusal | undefined {
  for (const { books, hostBooks } of levels) {
    const { level } = books;
    if (level.perRequestMsat !== undefined && need > level.perRequestMsat) {
      return {
        level: level.name,
        rule: 'per request',
        limitMsat: level.perRequestMsat,
        spentMsat: 0n,
        reservedMsat: 0n,
        pendingMsat: 0n,
      };
    }
    if (
      level.perHostMsat !== undefined &&
      hostBooks.spentMsat + hostBooks.reservedMsat + hostBooks.pendingMsat + need >
        level.perHostMsat
    ) {
      return { level: level.name, rule: 'per host', limitMsat: level.perHostMsat, ...hostBooks };
    }
    if (
      level.limitMsat !== undefined &&
      books.spentMsat + books.reservedMsat + books.pendingMsat + need > level.limitMsat
    ) {
      return {
        level: level.name,
        rule: 'total',
        limitMsat: level.limitMsat,
        spentMsat: books.spentMsat,
        reservedMsat: books.reservedMsat,
        pendingMsat: books.pendingMsat,
      };
    }
  }
  return undefined;
}

/** One host's books at one level. */
export interface HostBooks {
  spentMsat: Msat;
  reservedMsat: Msat;
  pendingMsat: Msat;
}

/** The largest amount a ledger keeps (a signed 64-bit integer, as databases store it). */
export const MAX_MSAT = 2n ** 63n - 1n;

/** Throws a RangeError unless `definition` is a well-formed level. */
export function checkLevelDefinition(definition: LevelDefinition): LevelDefinition {
  if (typeof definition?.name !== 'string' || definition.name.trim() === '') {
    throw new RangeError('a budget level needs a non-empty name');
  }
  for (const key of ['limitMsat', 'perRequestMsat', 'perHostMsat'] as const) {
    const value = definition[key];
    if (value !== undefined && (typeof value !== 'bigint' || value < 0n || value > MAX_MSAT)) {
      throw new RangeError(
        `${key} must be a non-negative bigint of millisatoshis, at most ${MAX_MSAT} (more than all bitcoin)`,
      );
    }
  }
  if (definition.windowMs !== undefined) parseWindow(definition.windowMs);
  return definition;
}
