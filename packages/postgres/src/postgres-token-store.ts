import {
  type ClaimResult,
  canonicalOrigin,
  coveringScopes,
  type PaymentLoop,
  type PaymentLoopReport,
  type PaymentLoopRow,
  paymentLoopFromRow,
  paymentLoopTarget,
  type StoredToken,
  TOKEN_COLUMNS,
  TokenIndex,
  type TokenRow,
  type TokenStore,
  tokenFromRow,
  tokenRowValues,
  validateClaim,
  validatePaymentLoop,
  validateToken,
} from '@l402kit/core';
import type pg from 'pg';
import {
  type Connection,
  connect,
  type PostgresOptions,
  type PostgresTarget,
} from './connection.js';
import { withClient } from './transaction.js';

export interface PostgresTokenStoreOptions extends PostgresOptions {
  /** The clock token expiry is checked with, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

const COLUMNS = TOKEN_COLUMNS.join(', ');
const VALUES = TOKEN_COLUMNS.map((_, index) => `$${index + 1}`).join(', ');
const REPLACE = TOKEN_COLUMNS.slice(1)
  .map((column) => `${column} = excluded.${column}`)
  .join(', ');

/**
 * The `TokenStore` in PostgreSQL, shared by every worker on every machine that uses the
 * database: a token one worker bought is found by the others. `claim` is one
 * `INSERT ... ON CONFLICT` statement, so of two workers that meet the same 402 at the same
 * moment exactly one records the pending payment and pays; the other finds it and waits for
 * it, as with the file store. A pending record left by a worker that died is resolved through
 * the wallet by whichever worker needs that token next. Payment-loop records are shared too.
 * Run `migrate()` once first.
 */
export class PostgresTokenStore implements TokenStore {
  readonly #connection: Connection;
  readonly #tokens: string;
  readonly #loops: string;
  readonly #now: () => number;

  constructor(target: PostgresTarget, options: PostgresTokenStoreOptions = {}) {
    this.#connection = connect(target, options);
    this.#tokens = `${this.#connection.schema}.tokens`;
    this.#loops = `${this.#connection.schema}.payment_loops`;
    this.#now = options.now ?? Date.now;
  }

  /** Ends the pool when the store made it from a connection string; a pool you passed stays open. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  async get(key: string): Promise<StoredToken | undefined> {
    return this.#run('read a token', async (client) => this.#get(client, key));
  }

  async find(url: URL, method: string): Promise<StoredToken | undefined> {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return undefined;
    }
    const now = this.#now();
    const scopes = [...coveringScopes(url.pathname)];
    const rows = await this.#run('find a token', async (client) =>
      (
        await client.query<TokenRow>(
          `SELECT * FROM ${this.#tokens}
           WHERE origin = $1 AND scope = ANY($2::text[]) AND state = 'paid'
             AND (method IS NULL OR method = $3) AND (expires_at IS NULL OR expires_at > $4)`,
          [canonicalOrigin(url), scopes, method.toUpperCase(), String(now)],
        )
      ).rows.map(tokenFromRow),
    );
    // Most specific scope first, then the newest token, as every store ranks them.
    return new TokenIndex(rows).find(url, method, now);
  }

  async put(token: StoredToken): Promise<void> {
    validateToken(token);
    await this.#run('store a token', (client) =>
      client.query(
        `INSERT INTO ${this.#tokens} (${COLUMNS}) VALUES (${VALUES})
         ON CONFLICT (key) DO UPDATE SET ${REPLACE}`,
        tokenRowValues(token),
      ),
    );
  }

  async claim(token: StoredToken): Promise<ClaimResult> {
    validateClaim(token);
    return this.#run('record the pending payment', async (client, attempt) => {
      for (;;) {
        if (attempt > 0) {
          // The connection dropped: the claim may have gone through before it did.
          const existing = await this.#get(client, token.key);
          if (
            existing?.state === 'pending' &&
            existing.paymentHash === token.paymentHash &&
            existing.createdAt === Math.trunc(token.createdAt)
          ) {
            return { claimed: true };
          }
        }
        // One statement: a pending token, or a paid one not expired, keeps the key.
        const inserted = await client.query(
          `INSERT INTO ${this.#tokens} AS t (${COLUMNS}) VALUES (${VALUES})
           ON CONFLICT (key) DO UPDATE SET ${REPLACE}
           WHERE t.state = 'paid' AND t.expires_at IS NOT NULL AND t.expires_at <= $15
           RETURNING key`,
          [...tokenRowValues(token), String(this.#now())],
        );
        if (inserted.rowCount === 1) return { claimed: true };
        const existing = await this.#get(client, token.key);
        // Deleted in between: try again.
        if (existing !== undefined) return { claimed: false, existing };
      }
    });
  }

  async delete(key: string): Promise<void> {
    await this.#run('delete a token', (client) =>
      client.query(`DELETE FROM ${this.#tokens} WHERE key = $1`, [key]),
    );
  }

  async list(): Promise<StoredToken[]> {
    return this.#run('list the tokens', async (client) =>
      (
        await client.query<TokenRow>(`SELECT * FROM ${this.#tokens} ORDER BY created_at, key`)
      ).rows.map(tokenFromRow),
    );
  }

  async clear(): Promise<void> {
    await this.#run('clear the tokens', (client) => client.query(`DELETE FROM ${this.#tokens}`));
  }

  async recordPaymentLoop(report: PaymentLoopReport): Promise<PaymentLoop> {
    const { at, ...fields } = report;
    validatePaymentLoop({ ...fields, count: 1, firstAt: at, lastAt: at });
    return this.#run('record a payment loop', async (client) => {
      // One statement per report; a report of the payment already counted changes nothing.
      const recorded = await client.query<PaymentLoopRow>(
        `INSERT INTO ${this.#loops} AS p
           (key, origin, scope, method, count, amount_msat, payment_hash, first_at, last_at)
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $7)
         ON CONFLICT (key) DO UPDATE SET origin = excluded.origin, scope = excluded.scope,
           method = excluded.method, count = p.count + 1,
           amount_msat = p.amount_msat + excluded.amount_msat,
           payment_hash = excluded.payment_hash, last_at = greatest(p.last_at, excluded.last_at)
         WHERE p.payment_hash <> excluded.payment_hash
         RETURNING *`,
        [
          report.key,
          report.origin,
          report.scope ?? null,
          report.method ?? null,
          String(report.amountMsat),
          report.paymentHash,
          String(at),
        ],
      );
      const row =
        recorded.rows[0] ??
        (
          await client.query<PaymentLoopRow>(`SELECT * FROM ${this.#loops} WHERE key = $1`, [
            report.key,
          ])
        ).rows[0]!;
      return paymentLoopFromRow(row);
    });
  }

  async getPaymentLoop(key: string): Promise<PaymentLoop | undefined> {
    return this.#run('read a payment loop', async (client) => {
      const row = (
        await client.query<PaymentLoopRow>(`SELECT * FROM ${this.#loops} WHERE key = $1`, [key])
      ).rows[0];
      return row === undefined ? undefined : paymentLoopFromRow(row);
    });
  }

  async listPaymentLoops(): Promise<PaymentLoop[]> {
    return this.#run('list the payment loops', async (client) =>
      (
        await client.query<PaymentLoopRow>(`SELECT * FROM ${this.#loops} ORDER BY first_at, key`)
      ).rows.map(paymentLoopFromRow),
    );
  }

  async clearPaymentLoops(target?: string): Promise<number> {
    return this.#run('clear payment loops', async (client) => {
      const result =
        target === undefined
          ? await client.query(`DELETE FROM ${this.#loops}`)
          : await client.query(`DELETE FROM ${this.#loops} WHERE key = $1 OR origin = $1`, [
              paymentLoopTarget(target),
            ]);
      return result.rowCount ?? 0;
    });
  }

  #run<T>(action: string, work: (client: pg.PoolClient, attempt: number) => Promise<T>) {
    return withClient(this.#connection, action, work);
  }

  async #get(client: pg.PoolClient, key: string): Promise<StoredToken | undefined> {
    const row = (
      await client.query<TokenRow>(`SELECT * FROM ${this.#tokens} WHERE key = $1`, [key])
    ).rows[0];
    return row === undefined ? undefined : tokenFromRow(row);
  }
}
