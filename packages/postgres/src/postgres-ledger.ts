import { randomUUID } from 'node:crypto';
import {
  LEDGER_OWNER,
  checkLevelDefinition,
  findRefusal,
  type HostBooks,
  type LedgerEntry,
  type LevelBooks,
  type LevelDefinition,
  type Msat,
  newReservation,
  type ReservationState,
  type SpendLedger,
} from '@l402kit/core';
import type pg from 'pg';
import { connect, type PostgresOptions, type PostgresTarget } from './connection.js';
import { transaction, withClient } from './transaction.js';

export interface PostgresLedgerOptions extends PostgresOptions {
  /**
   * The clock windows are measured with, ms since the epoch. Default `Date.now`: workers
   * sharing a windowed level should keep their clocks in sync (NTP).
   */
  now?: () => number;
}

// Every bigint column arrives as a decimal string (node-postgres' default for int8).
interface LevelRow {
  name: string;
  limit_msat: string | null;
  per_request_msat: string | null;
  per_host_msat: string | null;
  window_ms: string | null;
  shared: boolean;
  spent_msat: string;
  reserved_msat: string;
  pending_msat: string;
}

interface ReservationRow {
  id: string;
  levels: string[];
  host: string;
  amount_msat: string;
  max_fee_msat: string;
  spent_msat: string;
  state: ReservationState;
  payment_hash: string | null;
  description: string | null;
  reserved_at: string;
  owner: string | null;
}

/**
 * The `SpendLedger` in PostgreSQL: every worker on every machine that uses the database (and
 * schema) shares its levels. A reservation locks the row of every level it charges, in one
 * order (by name) so that two reservations cannot deadlock, checks the limits on the rows as
 * they are now and adds to them, all in one transaction: workers reserving at the same moment
 * take turns on each level and can never overspend it together. Levels keep running totals
 * (and, for windowed levels, the committed payments still inside the window), so a
 * reservation costs the same however long the history is. Run `migrate()` once first.
 */
export function createPostgresLedger(
  target: PostgresTarget,
  options: PostgresLedgerOptions = {},
): SpendLedger {
  const connection = connect(target, options);
  const now = options.now ?? Date.now;
  const s = connection.schema;
  const levels = `${s}.ledger_levels`;
  const hosts = `${s}.ledger_hosts`;
  const reservations = `${s}.ledger_reservations`;
  const windowTable = `${s}.ledger_window`;

  /** Locks the named levels' rows, in name order, and returns them as they are now. */
  const lockLevels = async (client: pg.PoolClient, names: string[]) =>
    (
      await client.query<LevelRow>(
        `SELECT * FROM ${levels} WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
        [names],
      )
    ).rows;

  /** With the levels locked: drops committed payments that left each window from the totals. */
  const expire = async (client: pg.PoolClient, rows: LevelRow[], time: number) => {
    const windowed = rows.filter((row) => row.window_ms !== null);
    if (windowed.length === 0) return;
    const result = await client.query<{ name: string; spent: string }>(
      `WITH gone AS (
         DELETE FROM ${windowTable} w
         USING unnest($1::text[], $2::bigint[]) AS x(level, since)
         WHERE w.level = x.level AND w.at < x.since
         RETURNING w.level, w.host, w.spent_msat),
       per_host AS (
         SELECT level, host, sum(spent_msat)::bigint AS spent FROM gone GROUP BY level, host),
       hosts_done AS (
         UPDATE ${hosts} h SET spent_msat = h.spent_msat - p.spent FROM per_host p
         WHERE h.level = p.level AND h.host = p.host),
       levels_done AS (
         UPDATE ${levels} l SET spent_msat = l.spent_msat - p.spent
         FROM (SELECT level, sum(spent)::bigint AS spent FROM per_host GROUP BY level) p
         WHERE l.name = p.level
         RETURNING l.name, p.spent)
       SELECT name, spent::text FROM levels_done`,
      [
        windowed.map((row) => row.name),
        windowed.map((row) => String(time - Number(row.window_ms))),
      ],
    );
    for (const { name, spent } of result.rows) {
      const row = rows.find((each) => each.name === name)!;
      row.spent_msat = String(BigInt(row.spent_msat) - BigInt(spent));
    }
  };

  const hostBooksOf = async (client: pg.PoolClient, names: string[], host: string) => {
    const result = await client.query<{
      level: string;
      spent_msat: string;
      reserved_msat: string;
      pending_msat: string;
    }>(
      `SELECT level, spent_msat, reserved_msat, pending_msat FROM ${hosts}
       WHERE level = ANY($1::text[]) AND host = $2`,
      [names, host],
    );
    const books = new Map<string, HostBooks>();
    for (const row of result.rows) {
      books.set(row.level, {
        spentMsat: BigInt(row.spent_msat),
        reservedMsat: BigInt(row.reserved_msat),
        pendingMsat: BigInt(row.pending_msat),
      });
    }
    return books;
  };

  /**
   * Adds to each level's and host's buckets and, for a settled reservation, records its new
   * state (and its window rows): one statement.
   */
  const applyDeltas = async (
    client: pg.PoolClient,
    deltas: { level: string; reserved: Msat; pending: Msat; spent: Msat }[],
    host: string,
    settled?: {
      id: string;
      state: ReservationState;
      spent: Msat;
      time: number;
      windowLevels: string[];
      at: number;
    },
  ) => {
    await client.query(
      `WITH d AS (
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
           AS d(level, reserved, pending, spent)),
       levels_done AS (
         UPDATE ${levels} l SET reserved_msat = l.reserved_msat + d.reserved,
           pending_msat = l.pending_msat + d.pending, spent_msat = l.spent_msat + d.spent
         FROM d WHERE l.name = d.level),
       hosts_done AS (
         INSERT INTO ${hosts} AS h (level, host, reserved_msat, pending_msat, spent_msat)
         SELECT level, $5, reserved, pending, spent FROM d
         ON CONFLICT (level, host) DO UPDATE SET
           reserved_msat = h.reserved_msat + excluded.reserved_msat,
           pending_msat = h.pending_msat + excluded.pending_msat,
           spent_msat = h.spent_msat + excluded.spent_msat),
       window_done AS (
         INSERT INTO ${windowTable} (level, reservation_id, host, at, spent_msat)
         SELECT unnest($6::text[]), $7, $5, $8, $9),
       state_done AS (
         UPDATE ${reservations} SET state = $10, spent_msat = $9, settled_at = $11
         WHERE id = $7 AND $10::text IS NOT NULL)
       SELECT 1`,
      [
        deltas.map((delta) => delta.level),
        deltas.map((delta) => String(delta.reserved)),
        deltas.map((delta) => String(delta.pending)),
        deltas.map((delta) => String(delta.spent)),
        host,
        settled?.windowLevels ?? [],
        settled?.id ?? '',
        String(settled?.at ?? 0),
        String(settled?.spent ?? 0n),
        settled?.state ?? null,
        String(settled?.time ?? 0),
      ],
    );
  };

  /**
   * Settles a reservation: locks it, then its levels (in name order, as `reserve` does),
   * moves its held amount out of its bucket and applies `next`. False when `allowed` says
   * its state does not permit it, or it is not in this ledger.
   */
  const settle = (
    action: string,
    id: string,
    allowed: (state: ReservationState) => boolean,
    next: (
      row: ReservationRow,
      held: Msat,
    ) => { state: ReservationState; spent: Msat; into?: 'pending' },
  ) =>
    transaction(connection, action, async (client) => {
      const row = (
        await client.query<ReservationRow>(
          `SELECT * FROM ${reservations} WHERE id = $1 FOR UPDATE`,
          [id],
        )
      ).rows[0];
      if (row === undefined || !allowed(row.state)) return false;
      const locked = await lockLevels(client, row.levels);
      const held = BigInt(row.amount_msat) + BigInt(row.max_fee_msat);
      const outcome = next(row, held);
      const time = now();
      const reservedAt = Number(row.reserved_at);
      const windowLevels: string[] = [];
      const deltas = locked.map((level) => {
        let spent = 0n;
        if (outcome.state === 'committed') {
          const windowMs = level.window_ms === null ? undefined : Number(level.window_ms);
          // A payment reserved before the window began no longer counts against it.
          if (windowMs === undefined || reservedAt >= time - windowMs) {
            spent = outcome.spent;
            if (windowMs !== undefined) windowLevels.push(level.name);
          }
        }
        return {
          level: level.name,
          reserved: row.state === 'reserved' ? -held : 0n,
          pending: (row.state === 'unknown' ? -held : 0n) + (outcome.into ? held : 0n),
          spent,
        };
      });
      await applyDeltas(client, deltas, row.host, {
        id: row.id,
        state: outcome.state,
        spent: outcome.spent,
        time,
        windowLevels,
        at: reservedAt,
      });
      return true;
    });

  const ledger: SpendLedger = {
    durable: true,
    async defineLevel(definition) {
      checkLevelDefinition(definition);
      await transaction(connection, 'define a budget level', async (client) => {
        const existing = (await lockLevels(client, [definition.name]))[0];
        const windowMs = definition.windowMs ?? null;
        // Left as it is when not given: a budget naming a shared level does not unshare it.
        await client.query(
          `INSERT INTO ${levels} AS l (name, limit_msat, per_request_msat, per_host_msat, window_ms, shared, updated_at)
           VALUES ($1, $2, $3, $4, $5, coalesce($6::boolean, false), $7)
           ON CONFLICT (name) DO UPDATE SET limit_msat = excluded.limit_msat,
             per_request_msat = excluded.per_request_msat, per_host_msat = excluded.per_host_msat,
             window_ms = excluded.window_ms, shared = coalesce($6::boolean, l.shared),
             updated_at = excluded.updated_at`,
          [
            definition.name,
            optionalText(definition.limitMsat),
            optionalText(definition.perRequestMsat),
            optionalText(definition.perHostMsat),
            windowMs === null ? null : String(windowMs),
            definition.shared ?? null,
            String(now()),
          ],
        );
        const oldWindow = existing?.window_ms == null ? null : Number(existing.window_ms);
        if (existing !== undefined && oldWindow !== windowMs) {
          await recount(client, definition.name, windowMs);
        }
      });
    },
    async listLevels() {
      return withClient(connection, 'read the budget levels', async (client) =>
        (await client.query<LevelRow>(`SELECT * FROM ${levels} ORDER BY name`)).rows.map(
          definitionOf,
        ),
      );
    },
    async reserve(request) {
      const need = request.amountMsat + request.maxFeeMsat;
      const names = [...new Set(request.levels)];
      // Made here, so that a reservation whose commit was cut off can be found on retry.
      const id = randomUUID();
      return transaction(connection, 'reserve the payment', async (client, attempt) => {
        if (attempt > 0) {
          const done = (
            await client.query<ReservationRow>(`SELECT * FROM ${reservations} WHERE id = $1`, [id])
          ).rows[0];
          if (done !== undefined) return { entry: entryOf(done) };
        }
        const time = now();
        const locked = await lockLevels(client, names);
        const byName = new Map(locked.map((row) => [row.name, row]));
        const missing = names.find((name) => !byName.has(name));
        if (missing !== undefined) {
          throw new RangeError(`no budget level named "${missing}" in this ledger`);
        }
        await expire(client, locked, time);
        const hostBooks = await hostBooksOf(client, names, request.host);
        // Checked in the caller's order: the budget's own level first, then its ancestors.
        const refusal = findRefusal(
          names.map((name) => ({
            books: booksOf(byName.get(name)!),
            hostBooks: hostBooks.get(name) ?? { spentMsat: 0n, reservedMsat: 0n, pendingMsat: 0n },
          })),
          need,
        );
        if (refusal !== undefined) return { refusal };
        await client.query(
          `INSERT INTO ${reservations}
             (id, levels, host, amount_msat, max_fee_msat, state, payment_hash, description, reserved_at, owner)
           VALUES ($1, $2, $3, $4, $5, 'reserved', $6, $7, $8, $9)`,
          [
            id,
            names,
            request.host,
            String(request.amountMsat),
            String(request.maxFeeMsat),
            request.paymentHash ?? null,
            request.description ?? null,
            String(time),
            // Who reserved: settleOpenReservations tells a dead process's from a live one's.
            LEDGER_OWNER,
          ],
        );
        await applyDeltas(
          client,
          names.map((level) => ({ level, reserved: need, pending: 0n, spent: 0n })),
          request.host,
        );
        return { entry: newReservation(id, names, request, time) };
      });
    },
    async commit(id, feeMsat) {
      return settle(
        'record the payment',
        id,
        (state) => state !== 'committed',
        (row) => ({ state: 'committed', spent: BigInt(row.amount_msat) + feeMsat }),
      );
    },
    async release(id) {
      return settle(
        'release the reservation',
        id,
        (state) => state === 'reserved' || state === 'unknown',
        () => ({ state: 'released', spent: 0n }),
      );
    },
    async markUnknown(id) {
      return settle(
        'mark the payment unknown',
        id,
        (state) => state === 'reserved',
        () => ({ state: 'unknown', spent: 0n, into: 'pending' }),
      );
    },
    async books(names) {
      return transaction(
        connection,
        'read the budget books',
        async (client) => {
          const time = now();
          const rows = (
            await client.query<LevelRow>(`SELECT * FROM ${levels} WHERE name = ANY($1::text[])`, [
              names,
            ])
          ).rows;
          const hostRows = (
            await client.query<{
              level: string;
              host: string;
              spent_msat: string;
              reserved_msat: string;
              pending_msat: string;
            }>(`SELECT * FROM ${hosts} WHERE level = ANY($1::text[])`, [names])
          ).rows;
          // What `expire` would subtract now, per level and host.
          const expired = (
            await client.query<{ level: string; host: string; spent: string }>(
              `SELECT w.level, w.host, sum(w.spent_msat)::text AS spent
               FROM ${windowTable} w JOIN ${levels} l ON l.name = w.level
               WHERE l.name = ANY($1::text[]) AND l.window_ms IS NOT NULL AND w.at < $2 - l.window_ms
               GROUP BY w.level, w.host`,
              [names, String(time)],
            )
          ).rows;
          return names.flatMap((name) => {
            const row = rows.find((each) => each.name === name);
            if (row === undefined) return [];
            const gone = expired.filter((item) => item.level === name);
            const books = booksOf(row);
            books.spentMsat -= gone.reduce((sum, item) => sum + BigInt(item.spent), 0n);
            for (const host of hostRows.filter((item) => item.level === name)) {
              const spent =
                BigInt(host.spent_msat) -
                BigInt(gone.find((item) => item.host === host.host)?.spent ?? 0);
              const held = BigInt(host.reserved_msat) + BigInt(host.pending_msat);
              if (spent > 0n) books.perHost[host.host] = spent;
              if (held > 0n) books.heldPerHost[host.host] = held;
            }
            return [books];
          });
        },
        'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      );
    },
    async openEntries(filter = {}) {
      return withClient(connection, 'read the open reservations', async (client) => {
        const result =
          filter.paymentHash === undefined
            ? await client.query<ReservationRow>(
                `SELECT * FROM ${reservations} WHERE state IN ('reserved', 'unknown') ORDER BY reserved_at, id`,
              )
            : await client.query<ReservationRow>(
                `SELECT * FROM ${reservations} WHERE state IN ('reserved', 'unknown') AND payment_hash = $1 ORDER BY reserved_at, id`,
                [filter.paymentHash],
              );
        return result.rows.map(entryOf);
      });
    },
  };

  /** With the level locked: rebuilds its committed totals after its window changed. */
  async function recount(client: pg.PoolClient, name: string, windowMs: number | null) {
    const since = windowMs === null ? Number.MIN_SAFE_INTEGER : now() - windowMs;
    await client.query(`DELETE FROM ${windowTable} WHERE level = $1`, [name]);
    await client.query(`UPDATE ${hosts} SET spent_msat = 0 WHERE level = $1`, [name]);
    const committed = `SELECT id, host, reserved_at, spent_msat FROM ${reservations}
      WHERE state = 'committed' AND $1 = ANY(levels) AND reserved_at >= $2`;
    await client.query(
      `INSERT INTO ${hosts} AS h (level, host, spent_msat)
       SELECT $1, host, sum(spent_msat) FROM (${committed}) c GROUP BY host
       ON CONFLICT (level, host) DO UPDATE SET spent_msat = excluded.spent_msat`,
      [name, String(since)],
    );
    await client.query(
      `UPDATE ${levels} SET spent_msat = (SELECT coalesce(sum(spent_msat), 0) FROM (${committed}) c)
       WHERE name = $1`,
      [name, String(since)],
    );
    if (windowMs !== null) {
      await client.query(
        `INSERT INTO ${windowTable} (level, reservation_id, host, at, spent_msat)
         SELECT $1, id, host, reserved_at, spent_msat FROM (${committed}) c`,
        [name, String(since)],
      );
    }
  }

  return Object.freeze(ledger);
}

function optionalText(value: Msat | undefined): string | null {
  return value === undefined ? null : String(value);
}

function definitionOf(row: LevelRow): LevelDefinition {
  return {
    name: row.name,
    ...(row.limit_msat === null ? {} : { limitMsat: BigInt(row.limit_msat) }),
    ...(row.per_request_msat === null ? {} : { perRequestMsat: BigInt(row.per_request_msat) }),
    ...(row.per_host_msat === null ? {} : { perHostMsat: BigInt(row.per_host_msat) }),
    ...(row.window_ms === null ? {} : { windowMs: Number(row.window_ms) }),
    ...(row.shared ? { shared: true } : {}),
  };
}

function booksOf(row: LevelRow): LevelBooks {
  return {
    level: definitionOf(row),
    spentMsat: BigInt(row.spent_msat),
    reservedMsat: BigInt(row.reserved_msat),
    pendingMsat: BigInt(row.pending_msat),
    perHost: {},
    heldPerHost: {},
  };
}

function entryOf(row: ReservationRow): LedgerEntry {
  return {
    id: row.id,
    levels: row.levels,
    host: row.host,
    amountMsat: BigInt(row.amount_msat),
    maxFeeMsat: BigInt(row.max_fee_msat),
    ...(row.payment_hash === null ? {} : { paymentHash: row.payment_hash }),
    ...(row.description === null ? {} : { description: row.description }),
    state: row.state,
    spentMsat: BigInt(row.spent_msat),
    reservedAt: Number(row.reserved_at),
    ...(row.owner === null ? {} : { owner: row.owner }),
  };
}
