import type { Msat } from '../amount.js';
import {
  checkLevelDefinition,
  findRefusal,
  type HostBooks,
  type LedgerEntry,
  type LedgerReserveRequest,
  type LevelBooks,
  type LevelDefinition,
  type ReserveOutcome,
  type SpendLedger,
  newReservation,
} from './spend-ledger.js';

export interface MemoryLedgerOptions {
  /** The clock windows are measured with, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

interface WindowItem {
  at: number;
  host: string;
  spent: Msat;
}

interface MemoryLevel {
  definition: LevelDefinition;
  /** Committed within the window (all time without one). */
  spent: Msat;
  reserved: Msat;
  pending: Msat;
  hosts: Map<string, HostBooks>;
  /** Committed payments still inside the window, oldest first (windowed levels only). */
  window: WindowItem[];
}

/**
 * Books in this process's memory: the default. Every method finishes its check and update
 * before it yields, so concurrent calls cannot overspend; nothing survives a restart.
 */
export function createMemoryLedger(options: MemoryLedgerOptions = {}): SpendLedger {
  const now = options.now ?? Date.now;
  const levels = new Map<string, MemoryLevel>();
  // Open and released entries: a released one may still be committed later. Committed ones
  // are final and dropped, so memory does not grow with every payment.
  const entries = new Map<string, LedgerEntry>();
  let nextId = 1;

  const levelOf = (name: string) => {
    const level = levels.get(name);
    if (level === undefined) throw new RangeError(`no budget level named "${name}" in this ledger`);
    return expire(level, now());
  };

  // Moves the entry's held amount between buckets at each of its levels.
  const move = (entry: LedgerEntry, from: 'reserved' | 'pending' | undefined, to: typeof from) => {
    const held = entry.amountMsat + entry.maxFeeMsat;
    for (const name of entry.levels) {
      const level = levels.get(name);
      if (level === undefined) continue;
      const host = hostBooksOf(level, entry.host);
      if (from === 'reserved') {
        level.reserved -= held;
        host.reservedMsat -= held;
      } else if (from === 'pending') {
        level.pending -= held;
        host.pendingMsat -= held;
      }
      if (to === 'reserved') {
        level.reserved += held;
        host.reservedMsat += held;
      } else if (to === 'pending') {
        level.pending += held;
        host.pendingMsat += held;
      }
    }
  };
  const bucketOf = (entry: LedgerEntry) =>
    entry.state === 'reserved' ? 'reserved' : entry.state === 'unknown' ? 'pending' : undefined;

  const ledger: SpendLedger = {
    durable: false,
    async defineLevel(definition) {
      checkLevelDefinition(definition);
      const existing = levels.get(definition.name);
      if (existing) {
        // `shared` is left as it is when not given: a budget naming a level does not unshare it.
        const shared = definition.shared ?? existing.definition.shared;
        existing.definition = { ...definition, ...(shared === undefined ? {} : { shared }) };
      } else {
        levels.set(definition.name, {
          definition: { ...definition },
          spent: 0n,
          reserved: 0n,
          pending: 0n,
          hosts: new Map(),
          window: [],
        });
      }
    },
    async listLevels() {
      return [...levels.values()].map((level) => ({ ...level.definition }));
    },
    async reserve(request) {
      return reserveNow(request);
    },
    async commit(id, feeMsat) {
      const entry = entries.get(id);
      if (entry === undefined || entry.state === 'committed') return false;
      move(entry, bucketOf(entry), undefined);
      const spent = entry.amountMsat + feeMsat;
      const time = now();
      for (const name of entry.levels) {
        const level = levels.get(name);
        if (level === undefined) continue;
        const windowMs = level.definition.windowMs;
        // A payment reserved before the window began no longer counts against it.
        if (windowMs !== undefined && entry.reservedAt < time - windowMs) continue;
        level.spent += spent;
        hostBooksOf(level, entry.host).spentMsat += spent;
        if (windowMs !== undefined) insertByTime(level.window, entry.reservedAt, entry.host, spent);
      }
      entries.delete(id);
      Object.assign(entry, { state: 'committed', spentMsat: spent });
      return true;
    },
    async release(id) {
      const entry = entries.get(id);
      if (entry === undefined || entry.state === 'released') return false;
      move(entry, bucketOf(entry), undefined);
      entry.state = 'released';
      return true;
    },
    async markUnknown(id) {
      const entry = entries.get(id);
      if (entry?.state !== 'reserved') return false;
      move(entry, 'reserved', 'pending');
      entry.state = 'unknown';
      return true;
    },
    async books(names) {
      const time = now();
      return names.flatMap((name) => {
        const level = levels.get(name);
        return level === undefined ? [] : [booksOf(expire(level, time))];
      });
    },
    async openEntries(filter = {}) {
      return [...entries.values()]
        .filter((entry) => entry.state === 'reserved' || entry.state === 'unknown')
        .filter((entry) => !filter.paymentHash || entry.paymentHash === filter.paymentHash)
        .map((entry) => ({ ...entry, levels: [...entry.levels] }));
    },
  };

  /** Synchronous from check to update, so concurrent callers cannot both pass the check. */
  function reserveNow(request: LedgerReserveRequest): ReserveOutcome {
    const charged = [...new Set(request.levels)].map(levelOf);
    const need = request.amountMsat + request.maxFeeMsat;
    const refusal = findRefusal(
      charged.map((level) => ({
        books: booksOf(level),
        hostBooks: { ...hostBooksOf(level, request.host) },
      })),
      need,
    );
    if (refusal !== undefined) return { refusal };
    const entry = newReservation(
      `m${nextId++}`,
      charged.map((level) => level.definition.name),
      request,
      now(),
    );
    move(entry, undefined, 'reserved');
    entries.set(entry.id, entry);
    return { entry: { ...entry, levels: [...entry.levels] } };
  }

  return Object.freeze(ledger);
}

/** Drops committed payments that left the window from the level's books. */
function expire(level: MemoryLevel, time: number): MemoryLevel {
  const windowMs = level.definition.windowMs;
  if (windowMs === undefined) {
    level.window.length = 0;
    return level;
  }
  const since = time - windowMs;
  let dropped = 0;
  while (dropped < level.window.length && level.window[dropped]!.at < since) {
    const item = level.window[dropped]!;
    level.spent -= item.spent;
    hostBooksOf(level, item.host).spentMsat -= item.spent;
    dropped++;
  }
  if (dropped > 0) level.window.splice(0, dropped);
  return level;
}

// Commits arrive nearly in time order, so the search ends near the tail.
function insertByTime(window: WindowItem[], at: number, host: string, spent: Msat): void {
  let index = window.length;
  while (index > 0 && window[index - 1]!.at > at) index--;
  window.splice(index, 0, { at, host, spent });
}

function hostBooksOf(level: MemoryLevel, host: string): HostBooks {
  let books = level.hosts.get(host);
  if (books === undefined) {
    books = { spentMsat: 0n, reservedMsat: 0n, pendingMsat: 0n };
    level.hosts.set(host, books);
  }
  return books;
}

function booksOf(level: MemoryLevel): LevelBooks {
  return {
    level: { ...level.definition },
    spentMsat: level.spent,
    reservedMsat: level.reserved,
    pendingMsat: level.pending,
    perHost: Object.fromEntries(
      [...level.hosts]
        .filter(([, books]) => books.spentMsat > 0n)
        .map(([host, books]) => [host, books.spentMsat]),
    ),
    heldPerHost: Object.fromEntries(
      [...level.hosts]
        .filter(([, books]) => books.reservedMsat + books.pendingMsat > 0n)
        .map(([host, books]) => [host, books.reservedMsat + books.pendingMsat]),
    ),
  };
}
