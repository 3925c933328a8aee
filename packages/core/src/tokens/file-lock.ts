import { randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { threadId } from 'node:worker_threads';
import { TokenStoreError } from '../errors.js';
import { hasErrorCode, isProcessAlive } from '../system.js';

export interface FileLockOptions {
  /** How long `hold` waits for another holder before failing. */
  timeoutMs: number;
  /** A lock older than this is taken to be left by a crashed process, even with a live pid. */
  staleMs: number;
  /** The error for a file operation that failed, e.g. "cannot create the lock file". */
  failure: (what: string, cause: unknown) => Error;
}

interface LockOwner {
  pid: number;
  threadId: number;
  host: string;
  id: string;
  createdAt: number;
}

// Ids of the locks this thread holds, across all lock files.
const locksHeldHere = new Set<string>();

/**
 * A lock file shared by processes on one machine (or a shared file system): created complete
 * with its owner in it, broken when its owner is dead or it is older than `staleMs`.
 */
export class FileLock {
  readonly path: string;
  readonly #options: FileLockOptions;

  constructor(path: string, options: FileLockOptions) {
    this.path = path;
    this.#options = options;
  }

  /** Runs `fn` holding the lock, waiting for other holders up to `timeoutMs`. */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    const id = await this.#acquire();
    try {
      return await fn();
    } finally {
      await this.#release(id);
    }
  }

  async #acquire(): Promise<string> {
    const id = randomUUID();
    const deadline = Date.now() + this.#options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#create(id);
        locksHeldHere.add(id);
        return id;
      } catch (error) {
        if (hasErrorCode(error, 'ENOENT')) {
          await this.#createDirectory();
          continue;
        }
        if (!hasErrorCode(error, 'EEXIST')) {
          throw this.#options.failure('cannot create the lock file', error);
        }
        if (await this.#breakIfStale()) continue;
        if (Date.now() > deadline) throw this.#timedOut();
        await sleep(Math.min(100, 2 + attempt * 3) * (0.5 + Math.random()));
      }
    }
  }

  /**
   * Creates the lock file with its owner already in it: written under a unique name, then
   * hard-linked to the lock path (fails with EEXIST while another holds it). A kill at any
   * moment leaves either no lock or a complete one, never an empty lock nobody can judge.
   */
  async #create(id: string): Promise<void> {
    const draft = `${this.path}.${id}.draft`;
    const owner: LockOwner = {
      pid: process.pid,
      threadId,
      host: hostname(),
      id,
      createdAt: Date.now(),
    };
    await writeFile(draft, JSON.stringify(owner), { mode: 0o600, flag: 'wx' });
    try {
      await link(draft, this.path);
    } finally {
      await unlink(draft).catch(() => {});
    }
  }

  async #release(id: string): Promise<void> {
    locksHeldHere.delete(id);
    try {
      // Only our own lock: if it was broken as stale, the file now belongs to someone else.
      if (parseOwner(await readFile(this.path, 'utf8'))?.id === id) await unlink(this.path);
    } catch {}
  }

  /** Removes the lock file if its owner is gone; true when the caller should try again at once. */
  async #breakIfStale(): Promise<boolean> {
    let before: Stats;
    let content: string;
    try {
      before = await stat(this.path);
      content = await readFile(this.path, 'utf8');
    } catch (error) {
      return hasErrorCode(error, 'ENOENT');
    }
    const owner = parseOwner(content);
    const age = Date.now() - (owner?.createdAt ?? Number(before.mtimeMs));
    if (!isStale(owner, age, this.#options.staleMs)) return false;
    return this.#moveAside(before, content);
  }

  /**
   * Moves the stale lock away. Rename first: only one process can move a given file, so two
   * breakers cannot both win; a fresh lock that replaced it in between is given back.
   */
  async #moveAside(before: Stats, content: string): Promise<boolean> {
    const aside = `${this.path}.${process.pid}.${randomUUID()}.stale`;
    try {
      await rename(this.path, aside);
    } catch (error) {
      return hasErrorCode(error, 'ENOENT');
    }
    try {
      const moved = await stat(aside);
      const movedContent = await readFile(aside, 'utf8');
      if (moved.ino !== before.ino || movedContent !== content) {
        await link(aside, this.path).catch(() => {});
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
      throw this.#options.failure('cannot create the directory for', error);
    }
  }

  #timedOut(): TokenStoreError {
    return new TokenStoreError(
      `Timed out after ${this.#options.timeoutMs} ms waiting for the token store lock ${this.path}. If no other l402kit process is running, remove that file.`,
      { paid: false },
    );
  }
}

/** Whether a lock with this owner (unreadable: undefined) and age was left by a holder that is gone. */
function isStale(owner: LockOwner | undefined, age: number, staleMs: number): boolean {
  if (owner === undefined || age > staleMs) return true;
  const local = owner.host === hostname();
  // A lock with our own pid and thread that this thread does not hold was left by an earlier
  // process that had the same pid (common in containers).
  const ours = local && owner.pid === process.pid;
  if (ours) return owner.threadId === threadId && !locksHeldHere.has(owner.id);
  return local && !isProcessAlive(owner.pid);
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof value.pid === 'number' &&
      typeof value.threadId === 'number' &&
      typeof value.host === 'string' &&
      typeof value.id === 'string' &&
      typeof value.createdAt === 'number'
    ) {
      return value as LockOwner;
    }
  } catch {}
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
