import { statSync } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { TokenStoreError } from '../errors.js';
import { hasErrorCode } from '../system.js';
import {
  type FileSignature,
  replaceFileAtomically,
  sameSignature,
  signatureOf,
} from './atomic-file.js';
import { FileLock } from './file-lock.js';
import type { PaymentLoop, PaymentLoopReport } from './payment-loops.js';
import { CorruptTokenFileError, formatTokenFile, parseTokenFile } from './token-file-format.js';
import {
  type ClaimResult,
  type StoredToken,
  TokenIndex,
  type TokenStore,
  validateClaim,
  validateToken,
} from './token-store.js';

export interface FileTokenStoreOptions {
  /** How long a mutation waits for another process's lock before failing. Default 10 s. */
  lockTimeoutMs?: number;
  /**
   * A lock older than this is taken to be left by a crashed process even when its pid
   * looks alive (pids get reused). Default 60 s. Locks of dead local processes are broken at once.
   */
  staleLockMs?: number;
  now?: () => number;
}

interface Snapshot {
  signature: FileSignature | undefined;
  index: TokenIndex;
}

/** A change waiting to be applied in the next locked read-modify-write. */
interface Mutation {
  apply: (index: TokenIndex) => unknown;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Tokens in one JSON file shared by every process that opens it (file mode 0600, its
 * directory 0700 when created here). Writes go to a temporary file that is fsynced and
 * renamed over the old one, so readers always see a whole file. Mutations take a lock file
 * (created with O_EXCL) and re-read the file under it, so concurrent processes never drop
 * each other's tokens, and `claim` is atomic across them. Reads use the last file read while its inode, size and timestamps
 * are unchanged.
 *
 * A file that cannot be read as a token file is never overwritten or discarded: every
 * operation throws `TokenStoreError` until it is repaired or moved aside, because it may
 * hold pending payments whose loss could mean paying twice.
 */
export class FileTokenStore implements TokenStore {
  readonly path: string;
  readonly #lock: FileLock;
  readonly #now: () => number;
  #cache: Snapshot | undefined;
  // Mutations queued in this process, applied together in one locked read-modify-write.
  #queue: Mutation[] = [];
  #flushing = false;

  constructor(path: string, options: FileTokenStoreOptions = {}) {
    this.path = path;
    this.#lock = new FileLock(`${path}.lock`, {
      timeoutMs: options.lockTimeoutMs ?? 10_000,
      staleMs: options.staleLockMs ?? 60_000,
      failure: (what, cause) => this.#failure(what, cause),
    });
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<StoredToken | undefined> {
    return (await this.#read()).get(key);
  }

  async find(url: URL, method: string): Promise<StoredToken | undefined> {
    return (await this.#read()).find(url, method, this.#now());
  }

  async list(): Promise<StoredToken[]> {
    return (await this.#read()).values();
  }

  async put(token: StoredToken): Promise<void> {
    validateToken(token);
    const copy = { ...token };
    await this.#mutate((index) => index.set(copy));
  }

  async claim(token: StoredToken): Promise<ClaimResult> {
    validateClaim(token);
    const copy = { ...token };
    // Decided under the lock on the file as it is now, so two processes cannot both claim.
    return this.#mutate((index) => index.claim(copy, this.#now()));
  }

  async delete(key: string): Promise<void> {
    await this.#mutate((index) => index.delete(key));
  }

  async clear(): Promise<void> {
    await this.#mutate((index) => index.clear());
  }

  async recordPaymentLoop(report: PaymentLoopReport): Promise<PaymentLoop> {
    const copy = { ...report };
    return this.#mutate((index) => index.loops.record(copy));
  }

  async getPaymentLoop(key: string): Promise<PaymentLoop | undefined> {
    return (await this.#read()).loops.get(key);
  }

  async listPaymentLoops(): Promise<PaymentLoop[]> {
    return (await this.#read()).loops.values();
  }

  async clearPaymentLoops(target?: string): Promise<number> {
    return this.#mutate((index) => index.loops.clear(target));
  }

  async #read(): Promise<TokenIndex> {
    let signature: FileSignature;
    try {
      // Synchronous on purpose: this runs before every cached-token request, and a stat
      // through the thread pool costs ten times more than the few microseconds it blocks.
      signature = signatureOf(statSync(this.path, { bigint: true }));
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return new TokenIndex();
      throw this.#failure('cannot read', error);
    }
    if (this.#cache !== undefined && sameSignature(this.#cache.signature, signature)) {
      return this.#cache.index;
    }
    const snapshot = await this.#load();
    this.#cache = snapshot;
    return snapshot.index;
  }

  // Reads the file through one handle so that the content and its signature belong together.
  async #load(): Promise<Snapshot> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return { signature: undefined, index: new TokenIndex() };
      throw this.#failure('cannot read', error);
    }
    try {
      const signature = signatureOf(await handle.stat({ bigint: true }));
      const text = await handle.readFile('utf8');
      return { signature, index: this.#parse(text) };
    } catch (error) {
      if (error instanceof TokenStoreError) throw error;
      throw this.#failure('cannot read', error);
    } finally {
      await handle.close();
    }
  }

  #parse(text: string): TokenIndex {
    try {
      return parseTokenFile(text);
    } catch (error) {
      if (error instanceof CorruptTokenFileError) throw this.#corrupt(error.message, error.cause);
      throw error;
    }
  }

  #mutate<T>(apply: (index: TokenIndex) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ apply, resolve: resolve as (result: unknown) => void, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  /** Applies the queued mutations, those queued meanwhile in the next batch. */
  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) await this.#applyBatch(this.#queue.splice(0));
    } finally {
      this.#flushing = false;
    }
  }

  async #applyBatch(batch: Mutation[]): Promise<void> {
    try {
      const results = await this.#lock.hold(() => this.#readModifyWrite(batch));
      for (const [position, mutation] of batch.entries()) mutation.resolve(results[position]);
    } catch (error) {
      this.#cache = undefined;
      for (const mutation of batch) mutation.reject(error);
    }
  }

  /** Under the lock: the file as it is now, the batch applied to it, written back. */
  async #readModifyWrite(batch: Mutation[]): Promise<unknown[]> {
    // Always the file as it is now, never the cache: another process may have written.
    const { index } = await this.#load();
    const applied = batch.map((mutation) => mutation.apply(index));
    try {
      await replaceFileAtomically(this.path, formatTokenFile(index));
    } catch (error) {
      throw this.#failure('cannot write', error);
    }
    this.#cache = { signature: signatureOf(await stat(this.path, { bigint: true })), index };
    return applied;
  }

  #failure(what: string, cause: unknown): TokenStoreError {
    const code =
      typeof cause === 'object' && cause !== null && 'code' in cause
        ? ` (${String(cause.code)})`
        : '';
    return new TokenStoreError(`The token store ${what} ${this.path}${code}.`, {
      paid: false,
      cause,
    });
  }

  #corrupt(reason: string, cause?: unknown): TokenStoreError {
    return new TokenStoreError(
      `The token file ${this.path} cannot be read: ${reason}. It was left untouched; repair it or move it aside to start with an empty store (its pending payments would then be forgotten).`,
      { paid: false, cause },
    );
  }
}
