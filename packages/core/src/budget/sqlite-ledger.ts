import type { Msat } from '../amount.js';
import type { SqliteDatabase } from '../database/sqlite-database.js';
import { LEDGER_OWNER } from './settle-open-reservations.js';
import {
  checkLevelDefinition,
  findRefusal,
  type HostBooks,
  type LedgerEntry,
  type LevelBooks,
  type LevelDefinition,
  type ReservationState,
  type SpendLedger,
  newReservation,
} from './spend-ledger.js';

export interface SqliteLedgerOptions {
  /** The clock windows are measured with, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

interface LevelRow {
  name: string;
  limit_msat: bigint | null;
  per_request_msat: bigint | null;
  per_host_msat: bigint | null;
  window_ms: bigint | null;
  shared: bigint;
  spent_msat: bigint;
  reserved_msat: bigint;
  pending_msat: bigint;
}

interface ReservationRow {
  id: bigint;
  levels: string;
  host: string;
  amount_msat: bigint;
  max_fee_msat: bigint;
  spent_msat: bigint;
  state: ReservationState;
  payment_hash: string | null;
  description: string | null;
  reserved_at: bigint;
  owner: string | null;
}

/**
 * The ledger in the l402kit SQLite database: every process on the machine that opens the
 * file shares its levels. A reservation checks and updates every level in one `BEGIN
 * IMMEDIATE` transaction, so processes reserving at the same moment are serialised and can
 * never overspend together. Levels keep running totals (and, for windowed levels, the
 * committed payments still inside the window), so a reservation costs the same however long
 * the history is.
 */
export function openSqliteLedger(
  database: SqliteDatabase,
  options: SqliteLedgerOptions = {},
): SpendLedger {
  const now = options.now ?? Date.now;
  const sql = (text: string) => database.statement(text);

  const levelRow = (name: string) =>
    sql('SELECT * FROM ledger_levels WHERE name = ?').get(name) as LevelRow | undefined;
  const hostRow = (level: string, host: string): HostBooks => {
    const row = sql(
      'SELECT spent_msat, reserved_msat, pending_msat FROM ledger_hosts WHERE level = ? AND host = ?',
    ).get(level, host) as
      | { spent_msat: bigint; reserved_msat: bigint; pending_msat: bigint }
      | undefined;
    return {
      spentMsat: row?.spent_msat ?? 0n,
      reservedMsat: row?.reserved_msat ?? 0n,
      pendingMsat: row?.pending_msat ?? 0n,
    };
  };
  const addToLevel = (level: string, host: string, column: Column, amount: Msat) => {
    if (amount === 0n) return;
    sql(`UPDATE ledger_levels SET ${column} = ${column} + ? WHERE name = ?`).run(amount, level);
    sql(
      `INSERT INTO ledger_hosts (level, host, ${column}) VALUES (?, ?, ?)
       ON CONFLICT (level, host) DO UPDATE SET ${column} = ${column} + excluded.${column}`,
    ).run(level, host, amount);
  };

  /** Inside a write transaction: drops committed payments that left the level's window. */
  const expire = (row: LevelRow, time: number) => {
    if (row.window_ms === null) return;
    const since = time - Number(row.window_ms);
    const old = sql('SELECT host, spent_msat FROM ledger_window WHERE level = ? AND at < ?').all(
      row.name,
      since,
    ) as { host: string; spent_msat: bigint }[];
    if (old.length === 0) return;
    for (const item of old) addToLevel(row.name, item.host, 'spent_msat', -item.spent_msat);
    sql('DELETE FROM ledger_window WHERE level = ? AND at < ?').run(row.name, since);
    row.spent_msat -= old.reduce((sum, item) => sum + item.spent_msat, 0n);
  };

  /** Read-only: what `expire` would subtract now, in total and per host. */
  const expiredSoFar = (row: LevelRow, time: number) => {
    if (row.window_ms === null) return [];
    return sql(
      'SELECT host, sum(spent_msat) AS spent FROM ledger_window WHERE level = ? AND at < ? GROUP BY host',
    ).all(row.name, time - Number(row.window_ms)) as { host: string; spent: bigint }[];
  };

  /** Moves a reservation's held amount out of its bucket (reserved or pending) at each level. */
  const leaveBucket = (row: ReservationRow) => {
    const column =
      row.state === 'reserved'
        ? 'reserved_msat'
        : row.state === 'unknown'
          ? 'pending_msat'
          : undefined;
    if (column === undefined) return;
    const held = row.amount_msat + row.max_fee_msat;
    for (const level of levelsOf(row)) addToLevel(level, row.host, column, -held);
  };

  const reservationRow = (id: string) =>
    /^\d+$/.test(id)
      ? (sql('SELECT * FROM ledger_reservations WHERE id = ?').get(BigInt(id)) as
          | ReservationRow
          | undefined)
      : undefined;

  const ledger: SpendLedger = {
    durable: true,
    async defineLevel(definition) {
      checkLevelDefinition(definition);
      database.write(() => {
        const existing = levelRow(definition.name);
        const windowMs = definition.windowMs ?? null;
        // Left as it is when not given: a budget naming a shared level does not unshare it.
        const sharedFlag = definition.shared === undefined ? null : definition.shared ? 1 : 0;
        sql(
          `INSERT INTO ledger_levels (name, limit_msat, per_request_msat, per_host_msat, window_ms, shared, updated_at)
           VALUES (?, ?, ?, ?, ?, coalesce(?, 0), ?)
           ON CONFLICT (name) DO UPDATE SET limit_msat = excluded.limit_msat,
             per_request_msat = excluded.per_request_msat, per_host_msat = excluded.per_host_msat,
             window_ms = excluded.window_ms, shared = coalesce(?, shared),
             updated_at = excluded.updated_at`,
        ).run(
          definition.name,
          definition.limitMsat ?? null,
          definition.perRequestMsat ?? null,
          definition.perHostMsat ?? null,
          windowMs,
          sharedFlag,
          now(),
          sharedFlag,
        );
        const oldWindow =
          existing?.window_ms === null || existing === undefined
            ? null
            : Number(existing.window_ms);
        if (existing !== undefined && oldWindow !== windowMs) recount(definition.name, windowMs);
      });
    },
    async listLevels() {
      return database.read(() =>
        (sql('SELECT * FROM ledger_levels ORDER BY name').all() as unknown as LevelRow[]).map(
          definitionOf,
        ),
      );
    },
    async reserve(request) {
      const need = request.amountMsat + request.maxFeeMsat;
      return database.write(() => {
        const time = now();
        const names = [...new Set(request.levels)];
        const rows = names.map((name) => {
          const row = levelRow(name);
          if (row === undefined)
            throw new RangeError(`no budget level named "${name}" in this ledger`);
          expire(row, time);
          return row;
        });
        const refusal = findRefusal(
          rows.map((row) => ({
            books: booksOf(row, []),
            hostBooks: hostRow(row.name, request.host),
          })),
          need,
        );
        if (refusal !== undefined) return { refusal };
        const { lastInsertRowid } = sql(
          `INSERT INTO ledger_reservations
             (levels, host, amount_msat, max_fee_msat, state, payment_hash, description, reserved_at, owner)
           VALUES (?, ?, ?, ?, 'reserved', ?, ?, ?, ?)`,
        ).run(
          JSON.stringify(names),
          request.host,
          request.amountMsat,
          request.maxFeeMsat,
          request.paymentHash ?? null,
          request.description ?? null,
          time,
          LEDGER_OWNER,
        );
        for (const name of names) addToLevel(name, request.host, 'reserved_msat', need);
        return {
          entry: newReservation(String(lastInsertRowid), names, request, time),
        };
      });
    },
    async commit(id, feeMsat) {
      return database.write(() => {
        const row = reservationRow(id);
        if (row === undefined || row.state === 'committed') return false;
        leaveBucket(row);
        const spent = row.amount_msat + feeMsat;
        const time = now();
        for (const name of levelsOf(row)) {
          const level = levelRow(name);
          if (level === undefined) continue;
          const reservedAt = Number(row.reserved_at);
          if (level.window_ms !== null) {
            // A payment reserved before the window began no longer counts against it.
            if (reservedAt < time - Number(level.window_ms)) continue;
            sql(
              'INSERT INTO ledger_window (level, reservation_id, host, at, spent_msat) VALUES (?, ?, ?, ?, ?)',
            ).run(name, row.id, row.host, reservedAt, spent);
          }
          addToLevel(name, row.host, 'spent_msat', spent);
        }
        sql(
          "UPDATE ledger_reservations SET state = 'committed', spent_msat = ?, settled_at = ? WHERE id = ?",
        ).run(spent, time, row.id);
        return true;
      });
    },
    async release(id) {
      return database.write(() => {
        const row = reservationRow(id);
        if (row === undefined || row.state === 'committed' || row.state === 'released')
          return false;
        leaveBucket(row);
        sql("UPDATE ledger_reservations SET state = 'released', settled_at = ? WHERE id = ?").run(
          now(),
          row.id,
        );
        return true;
      });
    },
    async markUnknown(id) {
      return database.write(() => {
        const row = reservationRow(id);
        if (row?.state !== 'reserved') return false;
        leaveBucket(row);
        const held = row.amount_msat + row.max_fee_msat;
        for (const level of levelsOf(row)) addToLevel(level, row.host, 'pending_msat', held);
        sql("UPDATE ledger_reservations SET state = 'unknown' WHERE id = ?").run(row.id);
        return true;
      });
    },
    async books(names) {
      return database.read(() => {
        const time = now();
        return names.flatMap((name) => {
          const row = levelRow(name);
          return row === undefined ? [] : [booksWithHosts(row, expiredSoFar(row, time))];
        });
      });
    },
    async openEntries(filter = {}) {
      return database.read(() => {
        const rows = (filter.paymentHash === undefined
          ? sql(
              "SELECT * FROM ledger_reservations WHERE state IN ('reserved', 'unknown') ORDER BY id",
            ).all()
          : sql(
              "SELECT * FROM ledger_reservations WHERE state IN ('reserved', 'unknown') AND payment_hash = ? ORDER BY id",
            ).all(filter.paymentHash)) as unknown as ReservationRow[];
        return rows.map(entryOf);
      });
    },
  };

  /** Rebuilds a level's committed totals from the reservations, after its window changed. */
  function recount(name: string, windowMs: number | null) {
    const since = windowMs === null ? Number.MIN_SAFE_INTEGER : now() - windowMs;
    const committed = sql(
      `SELECT r.id, r.host, r.reserved_at, r.spent_msat FROM ledger_reservations r, json_each(r.levels) l
         WHERE l.value = ? AND r.state = 'committed' AND r.reserved_at >= ?`,
    ).all(name, since) as unknown as {
      id: bigint;
      host: string;
      reserved_at: bigint;
      spent_msat: bigint;
    }[];
    sql('DELETE FROM ledger_window WHERE level = ?').run(name);
    sql('UPDATE ledger_hosts SET spent_msat = 0 WHERE level = ?').run(name);
    sql('UPDATE ledger_levels SET spent_msat = 0 WHERE name = ?').run(name);
    for (const item of committed) {
      addToLevel(name, item.host, 'spent_msat', item.spent_msat);
      if (windowMs !== null) {
        sql(
          'INSERT INTO ledger_window (level, reservation_id, host, at, spent_msat) VALUES (?, ?, ?, ?, ?)',
        ).run(name, item.id, item.host, item.reserved_at, item.spent_msat);
      }
    }
  }

  function booksWithHosts(row: LevelRow, expired: { host: string; spent: bigint }[]): LevelBooks {
    const books = booksOf(row, expired);
    const hosts = sql(
      'SELECT host, spent_msat, reserved_msat, pending_msat FROM ledger_hosts WHERE level = ?',
    ).all(row.name) as {
      host: string;
      spent_msat: bigint;
      reserved_msat: bigint;
      pending_msat: bigint;
    }[];
    for (const host of hosts) {
      const gone = expired.find((item) => item.host === host.host)?.spent ?? 0n;
      if (host.spent_msat - gone > 0n) books.perHost[host.host] = host.spent_msat - gone;
      if (host.reserved_msat + host.pending_msat > 0n) {
        books.heldPerHost[host.host] = host.reserved_msat + host.pending_msat;
      }
    }
    return books;
  }

  return Object.freeze(ledger);
}

type Column = 'spent_msat' | 'reserved_msat' | 'pending_msat';

function levelsOf(row: ReservationRow): string[] {
  return JSON.parse(row.levels) as string[];
}

function definitionOf(row: LevelRow): LevelDefinition {
  return {
    name: row.name,
    ...(row.limit_msat === null ? {} : { limitMsat: row.limit_msat }),
    ...(row.per_request_msat === null ? {} : { perRequestMsat: row.per_request_msat }),
    ...(row.per_host_msat === null ? {} : { perHostMsat: row.per_host_msat }),
    ...(row.window_ms === null ? {} : { windowMs: Number(row.window_ms) }),
    ...(row.shared ? { shared: true } : {}),
  };
}

function booksOf(row: LevelRow, expired: { spent: bigint }[]): LevelBooks {
  return {
    level: definitionOf(row),
    spentMsat: row.spent_msat - expired.reduce((sum, item) => sum + item.spent, 0n),
    reservedMsat: row.reserved_msat,
    pendingMsat: row.pending_msat,
    perHost: {},
    heldPerHost: {},
  };
}

function entryOf(row: ReservationRow): LedgerEntry {
  return {
    id: String(row.id),
    levels: levelsOf(row),
    host: row.host,
    amountMsat: row.amount_msat,
    maxFeeMsat: row.max_fee_msat,
    ...(row.payment_hash === null ? {} : { paymentHash: row.payment_hash }),
    ...(row.description === null ? {} : { description: row.description }),
    state: row.state,
    spentMsat: row.spent_msat,
    reservedAt: Number(row.reserved_at),
    ...(row.owner === null ? {} : { owner: row.owner }),
  };
}
