import type { SqliteDatabase } from '../database/sqlite-database.js';
import {
  type ClaimResult,
  type StoredToken,
  coveringScopes,
  TokenIndex,
  type TokenStore,
  validateClaim,
  validateToken,
} from './token-store.js';
import { canonicalOrigin } from '../canonical-host.js';
import {
  type PaymentLoop,
  PaymentLoopBook,
  type PaymentLoopReport,
  paymentLoopTarget,
} from './payment-loops.js';
import {
  PAYMENT_LOOP_COLUMNS,
  type PaymentLoopRow,
  paymentLoopFromRow,
  paymentLoopRowValues,
  TOKEN_COLUMNS,
  type TokenRow,
  tokenFromRow,
  tokenRowValues,
} from './token-rows.js';

export interface SqliteTokenStoreOptions {
  now?: () => number;
  /**
   * How long a paid token found once is served from memory without asking the database
   * whether another process changed the tokens, in ms. Default 100. Within it, a token another
   * process deleted or replaced may still be sent (a server that refuses it answers 402, and
   * the token is bought again through the database's claim, so nothing is paid twice).
   * 0 asks on every `find`, which costs a cached request about 5 % more.
   */
  recheckMs?: number;
}

const insertInto = (columns: readonly string[]) =>
  `(${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
const INSERT_TOKEN = insertInto(TOKEN_COLUMNS);
const INSERT_PAYMENT_LOOP = insertInto(PAYMENT_LOOP_COLUMNS);

/**
 * Tokens in the l402kit SQLite database, shared by every process that opens it, with the
 * same `claim` as the file store: the check and the write of a pending token are one
 * transaction, so two processes meeting the same 402 cannot both pay. A `put` writes one
 * row, whatever the number of tokens. Paid tokens found once are served from memory
 * afterwards; the database is read again on a miss, and at most every `recheckMs` (100 ms)
 * the store asks whether another connection has written since (`PRAGMA data_version`) and
 * then reads its cached tokens again.
 */
export class SqliteTokenStore implements TokenStore {
  readonly #database: SqliteDatabase;
  readonly #now: () => number;
  // Paid tokens found or written here.
  readonly #cache = new TokenIndex();
  readonly #recheckMs: number;
  #seenVersion: bigint | undefined;
  // When this store last asked whether another connection wrote (performance.now()).
  #checkedAt = Number.NEGATIVE_INFINITY;

  constructor(database: SqliteDatabase, options: SqliteTokenStoreOptions = {}) {
    this.#database = database;
    this.#now = options.now ?? Date.now;
    this.#recheckMs = options.recheckMs ?? 100;
    if (!(this.#recheckMs >= 0)) throw new RangeError('recheckMs must be 0 or more milliseconds');
  }

  get path(): string {
    return this.#database.path;
  }

  async get(key: string): Promise<StoredToken | undefined> {
    return this.#database.read(() => this.#row(key));
  }

  async find(url: URL, method: string): Promise<StoredToken | undefined> {
    if (url.origin === 'null') return undefined;
    const now = this.#now();
    // Served from memory like the memory store's: even one statement per request costs a
    // cached request about 5 % (bench: cached-token-stores).
    const checked = performance.now();
    if (checked - this.#checkedAt < this.#recheckMs) {
      const cached = this.#cache.find(url, method, now);
      if (cached !== undefined) return cached;
    }
    return this.#database.read(() => {
      // Another process wrote since: a cached token may have been replaced or dropped there.
      if (this.#othersWrote()) this.#cache.clear();
      this.#checkedAt = checked;
      const cached = this.#cache.find(url, method, now);
      if (cached !== undefined) return cached;
      const rows = this.#database
        .statement(
          "SELECT * FROM tokens WHERE origin = ? AND state = 'paid' AND scope IN (SELECT value FROM json_each(?))",
        )
        .all(
          canonicalOrigin(url),
          JSON.stringify([...coveringScopes(url.pathname)]),
        ) as unknown as TokenRow[];
      const found = new TokenIndex(rows.map(tokenFromRow)).find(url, method, now);
      if (found === undefined) return undefined;
      this.#cache.set(found);
      return this.#cache.get(found.key);
    });
  }

  async put(token: StoredToken): Promise<void> {
    validateToken(token);
    this.#database.write(() => this.#insert(token));
    this.#remember(token);
  }

  async claim(token: StoredToken): Promise<ClaimResult> {
    validateClaim(token);
    const result = this.#database.write((): ClaimResult => {
      const existing = this.#row(token.key);
      if (
        existing !== undefined &&
        (existing.state === 'pending' ||
          existing.expiresAt === undefined ||
          existing.expiresAt > this.#now())
      ) {
        return { claimed: false, existing };
      }
      this.#insert(token);
      return { claimed: true };
    });
    this.#remember(token);
    return result;
  }

  async delete(key: string): Promise<void> {
    this.#database.write(() => {
      this.#database.statement('DELETE FROM tokens WHERE key = ?').run(key);
    });
    this.#cache.delete(key);
  }

  async list(): Promise<StoredToken[]> {
    return this.#database.read(() =>
      (
        this.#database
          .statement('SELECT * FROM tokens ORDER BY created_at')
          .all() as unknown as TokenRow[]
      ).map(tokenFromRow),
    );
  }

  async clear(): Promise<void> {
    this.#database.write(() => {
      this.#database.statement('DELETE FROM tokens').run();
    });
    this.#cache.clear();
  }

  async recordPaymentLoop(report: PaymentLoopReport): Promise<PaymentLoop> {
    // One read-modify-write for every process sharing the database.
    return this.#database.write(() => {
      const existing = this.#loopRow(report.key);
      const loop = new PaymentLoopBook(existing ? [existing] : []).record({ ...report });
      insertLoopRow(this.#database, loop, 'REPLACE');
      return loop;
    });
  }

  async getPaymentLoop(key: string): Promise<PaymentLoop | undefined> {
    return this.#database.read(() => this.#loopRow(key));
  }

  async listPaymentLoops(): Promise<PaymentLoop[]> {
    return this.#database.read(() =>
      (
        this.#database
          .statement('SELECT * FROM payment_loops ORDER BY first_at')
          .all() as unknown as PaymentLoopRow[]
      ).map(paymentLoopFromRow),
    );
  }

  async clearPaymentLoops(target?: string): Promise<number> {
    return this.#database.write(() => {
      if (target === undefined) {
        return Number(this.#database.statement('DELETE FROM payment_loops').run().changes);
      }
      const keyOrOrigin = paymentLoopTarget(target);
      return Number(
        this.#database
          .statement('DELETE FROM payment_loops WHERE key = ? OR origin = ?')
          .run(keyOrOrigin, keyOrOrigin).changes,
      );
    });
  }

  #loopRow(key: string): PaymentLoop | undefined {
    const row = this.#database.statement('SELECT * FROM payment_loops WHERE key = ?').get(key) as
      | PaymentLoopRow
      | undefined;
    return row === undefined ? undefined : paymentLoopFromRow(row);
  }

  #row(key: string): StoredToken | undefined {
    const row = this.#database.statement('SELECT * FROM tokens WHERE key = ?').get(key) as
      | TokenRow
      | undefined;
    return row === undefined ? undefined : tokenFromRow(row);
  }

  #insert(token: StoredToken): void {
    insertTokenRow(this.#database, token, 'REPLACE');
  }

  // The cache holds paid tokens only: a pending one must always be read from the database.
  #remember(token: StoredToken): void {
    if (token.state === 'paid') this.#cache.set(token);
    else this.#cache.delete(token.key);
  }

  /** Whether another connection committed since the last look (own commits do not count). */
  #othersWrote(): boolean {
    const { data_version: version } = this.#database.statement('PRAGMA data_version').get() as {
      data_version: bigint;
    };
    const changed = this.#seenVersion !== undefined && version !== this.#seenVersion;
    this.#seenVersion = version;
    return changed;
  }
}

/**
 * Writes `token`'s row inside the caller's write transaction: over the row of the same key
 * (REPLACE) or not at all when the key has one (IGNORE). Returns the rows written (0 or 1).
 */
export function insertTokenRow(
  database: SqliteDatabase,
  token: StoredToken,
  onConflict: 'REPLACE' | 'IGNORE',
): number {
  const { changes } = database
    .statement(`INSERT OR ${onConflict} INTO tokens ${INSERT_TOKEN}`)
    .run(...tokenRowValues(token));
  return Number(changes);
}

/** Writes a payment-loop record's row inside the caller's write transaction, like insertTokenRow. */
export function insertLoopRow(
  database: SqliteDatabase,
  loop: PaymentLoop,
  onConflict: 'REPLACE' | 'IGNORE',
): void {
  database
    .statement(`INSERT OR ${onConflict} INTO payment_loops ${INSERT_PAYMENT_LOOP}`)
    .run(...paymentLoopRowValues(loop));
}
