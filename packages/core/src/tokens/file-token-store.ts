import { randomUUID } from 'node:crypto';
import { type Stats, statSync } from 'node:fs';
import {
  type FileHandle,
  link,
  mkdir,
  open,
  readFile,
  rename,
  writeFile,
  stat,
  unlink,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { threadId } from 'node:worker_threads';
import { TokenStoreError } from '../errors.js';
import { type PaymentLoop, type PaymentLoopReport, validatePaymentLoop } from './payment-loops.js';
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

const FORMAT = 'l402kit-tokens';
// Ids of the lock files this thread holds, across all stores.
const locksHeldHere = new Set<string>();
const VERSION = 1;

interface Snapshot {
  signature: FileSignature | undefined;
  index: TokenIndex;
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
  readonly #lockPath: string;
  readonly #lockTimeoutMs: number;
  readonly #staleLockMs: number;
  readonly #now: () => number;
  #cache: Snapshot | undefined;
  // Mutations queued in this process, applied together in one locked read-modify-write.
  #queue: {
    apply: (index: TokenIndex) => unknown;
    resolve: (result: unknown) => void;
    reject: (error: unknown) => void;
  }[] = [];
  #flushing = false;

  constructor(path: string, options: FileTokenStoreOptions = {}) {
    this.path = path;
    this.#lockPath = `${path}.lock`;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.#staleLockMs = options.staleLockMs ?? 60_000;
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
      if (isCode(error, 'ENOENT')) return new TokenIndex();
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
      if (isCode(error, 'ENOENT')) return { signature: undefined, index: new TokenIndex() };
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
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw this.#corrupt('it is not valid JSON', error);
    }
    // Checked by hand rather than with a schema library: start-up with 100,000 tokens must stay fast.
    const file = data as { format?: unknown; version?: unknown; tokens?: unknown };
    if (typeof file !== 'object' || file === null || file.format !== FORMAT) {
      throw this.#corrupt('it is not an l402kit token file');
    }
    if (file.version !== VERSION) {
      throw this.#corrupt(
        `it has format version ${String(file.version)}, this l402kit reads version ${VERSION}`,
      );
    }
    if (!Array.isArray(file.tokens)) throw this.#corrupt('it has no token list');
    const knownOrigins = new Set<string>();
    const tokens = file.tokens.map((raw: unknown, position: number) => {
      try {
        const token = decodeToken(raw);
        validateToken(token, knownOrigins);
        return token;
      } catch (error) {
        throw this.#corrupt(`token ${position}: ${(error as Error).message}`);
      }
    });
    // Optional: files written before payment loops were recorded have none.
    const rawLoops = (file as { loops?: unknown }).loops ?? [];
    if (!Array.isArray(rawLoops)) throw this.#corrupt('its payment loop list is not a list');
    const loops = rawLoops.map((raw: unknown, position: number) => {
      try {
        const loop = decodeLoop(raw);
        validatePaymentLoop(loop);
        return loop;
      } catch (error) {
        throw this.#corrupt(`payment loop ${position}: ${(error as Error).message}`);
      }
    });
    return new TokenIndex(tokens, loops);
  }

  #mutate<T>(apply: (index: TokenIndex) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ apply, resolve: resolve as (result: unknown) => void, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        try {
          const results = await this.#withLock(async () => {
            // Always the file as it is now, never the cache: another process may have written.
            const { index } = await this.#load();
            const applied = batch.map((mutation) => mutation.apply(index));
            await this.#write(index);
            this.#cache = {
              signature: signatureOf(await stat(this.path, { bigint: true })),
              index,
            };
            return applied;
          });
          for (const [position, mutation] of batch.entries()) mutation.resolve(results[position]);
        } catch (error) {
          this.#cache = undefined;
          for (const mutation of batch) mutation.reject(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #write(index: TokenIndex): Promise<void> {
    const lines = index.values().map((token) => JSON.stringify(encodeToken(token)));
    const loops = index.loops.values().map((loop) => JSON.stringify(encodeLoop(loop)));
    const loopList = loops.length === 0 ? '' : `,"loops":[\n${loops.join(',\n')}\n]`;
    const text = `{"format":"${FORMAT}","version":${VERSION},"tokens":[\n${lines.join(',\n')}\n]${loopList}}\n`;
    const temporary = `${this.path}.${process.pid}.${randomUUID()}.tmp`;
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.chmod(0o600);
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.path);
    } catch (error) {
      await unlink(temporary).catch(() => {});
      throw this.#failure('cannot write', error);
    }
    await syncDirectory(dirname(this.path));
  }

  async #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const id = randomUUID();
    const deadline = Date.now() + this.#lockTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#createLock(id);
        locksHeldHere.add(id);
        break;
      } catch (error) {
        if (isCode(error, 'ENOENT')) {
          await this.#createDirectory();
          continue;
        }
        if (!isCode(error, 'EEXIST')) throw this.#failure('cannot create the lock file', error);
        if (await this.#breakStaleLock()) continue;
        if (Date.now() > deadline) {
          throw new TokenStoreError(
            `Timed out after ${this.#lockTimeoutMs} ms waiting for the token store lock ${this.#lockPath}. If no other l402kit process is running, remove that file.`,
            { paid: false },
          );
        }
        await sleep(Math.min(100, 2 + attempt * 3) * (0.5 + Math.random()));
      }
    }
    try {
      return await fn();
    } finally {
      await this.#releaseLock(id);
    }
  }

  /**
   * Creates the lock file with its owner already in it: written under a unique name, then
   * hard-linked to the lock path (fails with EEXIST while another holds it). A kill at any
   * moment leaves either no lock or a complete one, never an empty lock nobody can judge.
   */
  async #createLock(id: string): Promise<void> {
    const draft = `${this.#lockPath}.${id}.draft`;
    const owner = { pid: process.pid, threadId, host: hostname(), id, createdAt: Date.now() };
    await writeFile(draft, JSON.stringify(owner), { mode: 0o600, flag: 'wx' });
    try {
      await link(draft, this.#lockPath);
    } finally {
      await unlink(draft).catch(() => {});
    }
  }

  async #releaseLock(id: string): Promise<void> {
    locksHeldHere.delete(id);
    try {
      // Only our own lock: if it was broken as stale, the file now belongs to someone else.
      if (parseLock(await readFile(this.#lockPath, 'utf8'))?.id === id)
        await unlink(this.#lockPath);
    } catch {}
  }

  /** Removes the lock file if its owner is gone; true when the caller should try again at once. */
  async #breakStaleLock(): Promise<boolean> {
    let before: Stats;
    let content: string;
    try {
      before = await stat(this.#lockPath);
      content = await readFile(this.#lockPath, 'utf8');
    } catch (error) {
      return isCode(error, 'ENOENT');
    }
    const lock = parseLock(content);
    const age = Date.now() - (lock?.createdAt ?? Number(before.mtimeMs));
    const local = lock !== undefined && lock.host === hostname();
    // A lock with our own pid and thread that this thread does not hold was left by an earlier
    // process that had the same pid (common in containers).
    const ours = local && lock.pid === process.pid;
    const stale =
      lock === undefined ||
      age > this.#staleLockMs ||
      (ours && lock.threadId === threadId && !locksHeldHere.has(lock.id)) ||
      (local && !ours && !isAlive(lock.pid));
    if (!stale) return false;
    // Rename first: only one process can move a given file, so two breakers cannot both win.
    const aside = `${this.#lockPath}.${process.pid}.${randomUUID()}.stale`;
    try {
      await rename(this.#lockPath, aside);
    } catch (error) {
      return isCode(error, 'ENOENT');
    }
    try {
      const moved = await stat(aside);
      const movedContent = await readFile(aside, 'utf8');
      if (moved.ino !== before.ino || movedContent !== content) {
        // A fresh lock replaced the stale one in between: give it back if the name is free.
        await link(aside, this.#lockPath).catch(() => {});
      }
    } finally {
      await unlink(aside).catch(() => {});
    }
    return true;
  }

  async #createDirectory(): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw this.#failure('cannot create the directory for', error);
    }
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

const stringFields = [
  'key',
  'origin',
  'scope',
  'scheme',
  'macaroon',
  'paymentHash',
  'invoice',
  'state',
] as const;

function decodeToken(raw: unknown): StoredToken {
  if (typeof raw !== 'object' || raw === null) throw new RangeError('not an object');
  const value = raw as Record<string, unknown>;
  for (const field of stringFields) {
    if (typeof value[field] !== 'string') throw new RangeError(`${field} must be a string`);
  }
  for (const field of ['amountMsat', 'feeMsat']) {
    if (typeof value[field] !== 'string' || !/^\d+$/.test(value[field])) {
      throw new RangeError(`${field} must be a decimal string`);
    }
  }
  const token = {
    key: value.key,
    origin: value.origin,
    scope: value.scope,
    scheme: value.scheme,
    macaroon: value.macaroon,
    paymentHash: value.paymentHash,
    invoice: value.invoice,
    amountMsat: BigInt(value.amountMsat as string),
    feeMsat: BigInt(value.feeMsat as string),
    state: value.state,
    createdAt: value.createdAt,
  } as StoredToken;
  // Optional fields are left out rather than set to undefined, as they were stored.
  if (value.method !== undefined) token.method = value.method as string;
  if (value.preimage !== undefined) token.preimage = value.preimage as string;
  if (value.expiresAt !== undefined) token.expiresAt = value.expiresAt as number;
  return token;
}

function encodeToken(token: StoredToken): Record<string, unknown> {
  return {
    key: token.key,
    origin: token.origin,
    scope: token.scope,
    method: token.method,
    scheme: token.scheme,
    macaroon: token.macaroon,
    preimage: token.preimage,
    paymentHash: token.paymentHash,
    invoice: token.invoice,
    amountMsat: token.amountMsat.toString(),
    feeMsat: token.feeMsat.toString(),
    state: token.state,
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
  };
}

function decodeLoop(raw: unknown): PaymentLoop {
  if (typeof raw !== 'object' || raw === null) throw new RangeError('not an object');
  const value = raw as Record<string, unknown>;
  if (typeof value.amountMsat !== 'string' || !/^\d+$/.test(value.amountMsat)) {
    throw new RangeError('amountMsat must be a decimal string');
  }
  const loop = {
    key: value.key,
    origin: value.origin,
    count: value.count,
    amountMsat: BigInt(value.amountMsat),
    paymentHash: value.paymentHash,
    firstAt: value.firstAt,
    lastAt: value.lastAt,
  } as PaymentLoop;
  if (value.scope !== undefined) loop.scope = value.scope as string;
  if (value.method !== undefined) loop.method = value.method as string;
  return loop;
}

function encodeLoop(loop: PaymentLoop): Record<string, unknown> {
  return { ...loop, amountMsat: loop.amountMsat.toString() };
}

interface LockInfo {
  pid: number;
  threadId: number;
  host: string;
  id: string;
  createdAt: number;
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockInfo>;
    if (
      typeof value.pid === 'number' &&
      typeof value.threadId === 'number' &&
      typeof value.host === 'string' &&
      typeof value.id === 'string' &&
      typeof value.createdAt === 'number'
    ) {
      return value as LockInfo;
    }
  } catch {}
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return isCode(error, 'EPERM');
  }
}

interface FileSignature {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

// A rename gives the file a new inode and timestamps, so any write by any process changes this.
function signatureOf(stats: FileSignature): FileSignature {
  return { ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

function sameSignature(a: FileSignature | undefined, b: FileSignature): boolean {
  return (
    a !== undefined &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

async function syncDirectory(path: string): Promise<void> {
  // Makes the rename durable; not supported everywhere (e.g. Windows), where it is skipped.
  try {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {}
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
