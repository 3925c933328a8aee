import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenStoreError } from '../errors.js';
import { FileTokenStore } from './file-token-store.js';
import { type StoredToken, tokenTarget } from './token-store.js';

const MACAROON = 'AgEEbHNhdAJCAAD3macaroonsecret';
const PREIMAGE = 'ab'.repeat(32);

function makeToken(path: string, extra: Partial<StoredToken> = {}): StoredToken {
  return {
    ...tokenTarget(new URL(`https://api.example.com${path}`), 'GET'),
    scheme: 'L402',
    macaroon: MACAROON,
    preimage: PREIMAGE,
    paymentHash: 'cd'.repeat(32),
    invoice: 'lnbcrt10n1example',
    amountMsat: 1_000n,
    feeMsat: 3n,
    state: 'paid',
    createdAt: 1_000,
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, args, {
    cwd: repositoryRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

const repositoryRoot = fileURLToPath(new URL('../../../..', import.meta.url));
const storeModule = pathToFileURL(
  fileURLToPath(new URL('./file-token-store.ts', import.meta.url)),
).href;

let directory: string;
let file: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'l402kit-tokens-'));
  file = join(directory, 'tokens.json');
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('FileTokenStore', () => {
  it('persists tokens across instances with exact amounts', async () => {
    const big = 2n ** 64n + 7n;
    const first = new FileTokenStore(file);
    await first.put(makeToken('/a', { amountMsat: big, expiresAt: 9e12 }));
    const { preimage: _, ...pending } = makeToken('/b', { state: 'pending' });
    await first.put(pending);

    // A new process would start like this: nothing in memory, everything from the file.
    const second = new FileTokenStore(file);
    const found = await second.find(new URL('https://api.example.com/a?x=1'), 'GET');
    expect(found).toMatchObject({
      amountMsat: big,
      feeMsat: 3n,
      expiresAt: 9e12,
      macaroon: MACAROON,
    });
    expect(await second.get(pending.key)).toEqual(pending);
    expect(await second.find(new URL('https://api.example.com/b'), 'GET')).toBeUndefined();
    expect(await second.find(new URL('http://api.example.com/a'), 'GET')).toBeUndefined();
    await second.delete(pending.key);
    expect(await first.list()).toHaveLength(1);
    await first.clear();
    expect(await second.list()).toEqual([]);
  });

  it('creates the file with mode 0600 in a new directory with mode 0700', async () => {
    const nested = join(directory, 'state', 'l402kit', 'tokens.json');
    await new FileTokenStore(nested).put(makeToken('/a'));
    expect((await stat(nested)).mode & 0o777).toBe(0o600);
    expect((await stat(join(directory, 'state', 'l402kit'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(directory, 'state'))).mode & 0o777).toBe(0o700);
    // No lock or temporary file is left behind.
    expect(await readdir(join(directory, 'state', 'l402kit'))).toEqual(['tokens.json']);
  });

  it('replaces the file atomically: a reader never sees half a file', async () => {
    const writer = new FileTokenStore(file);
    const reader = new FileTokenStore(file);
    await writer.put(makeToken('/0'));
    let writing = true;
    let reads = 0;
    const reading = (async () => {
      while (writing) {
        const tokens = await reader.list();
        expect(tokens.length).toBeGreaterThan(0);
        reads++;
        // A cached read never touches the event loop; let the writer's I/O run.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let i = 1; i <= 40; i++) {
      // Large enough that a non-atomic write would be observed in pieces.
      await writer.put(makeToken(`/${i}`, { invoice: 'x'.repeat(12_000) }));
    }
    writing = false;
    await reading;
    expect(reads).toBeGreaterThan(0);
    expect(await reader.list()).toHaveLength(41);
  });

  it('sees changes made by another instance (the read cache follows the file)', async () => {
    const one = new FileTokenStore(file);
    const two = new FileTokenStore(file);
    expect(await one.list()).toEqual([]);
    await two.put(makeToken('/a'));
    expect(await one.find(new URL('https://api.example.com/a'), 'GET')).toBeDefined();
    await two.delete(makeToken('/a').key);
    expect(await one.find(new URL('https://api.example.com/a'), 'GET')).toBeUndefined();
  });

  it('loses nothing when two processes write at the same time', async () => {
    const script = join(directory, 'writer.mjs');
    await writeFile(
      script,
      `const { FileTokenStore } = await import(${JSON.stringify(storeModule)});
const [file, name, count] = process.argv.slice(2);
const store = new FileTokenStore(file, { lockTimeoutMs: 60_000 });
const token = (i) => ({
  key: 'https://api.example.com GET /' + name + '/' + i, origin: 'https://api.example.com',
  scope: '/' + name + '/' + i, method: 'GET', scheme: 'L402', macaroon: 'm', preimage: 'ab'.repeat(32),
  paymentHash: 'cd'.repeat(32), invoice: 'lnbc', amountMsat: BigInt(i), feeMsat: 0n, state: 'paid', createdAt: i,
});
// Half one by one, half all at once (batched into fewer writes).
for (let i = 0; i < count / 2; i++) await store.put(token(i));
await Promise.all(Array.from({ length: count / 2 }, (_, i) => store.put(token(count / 2 + i))));
`,
    );
    const count = 40;
    const results = await Promise.all(
      ['first', 'second', 'third'].map((name) =>
        run(['--import', 'tsx', script, file, name, String(count)]),
      ),
    );
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });
    const tokens = await new FileTokenStore(file).list();
    expect(tokens).toHaveLength(3 * count);
    for (const name of ['first', 'second', 'third']) {
      expect(tokens.filter((token) => token.scope.startsWith(`/${name}/`))).toHaveLength(count);
    }
    expect(await readdir(directory)).toEqual(['tokens.json', 'writer.mjs']);
  });

  describe('claim', () => {
    const pendingToken = (path: string, paymentHash: string): StoredToken => {
      const { preimage: _, ...pending } = makeToken(path, { state: 'pending', paymentHash });
      return pending;
    };

    it('writes a pending token only while its key holds no pending and no unexpired paid token', async () => {
      let now = 5_000;
      // Two instances, as two processes would have: each decides on the file, not its cache.
      const one = new FileTokenStore(file, { now: () => now });
      const two = new FileTokenStore(file, { now: () => now });
      const first = pendingToken('/a', '01'.repeat(32));
      expect(await one.list()).toEqual([]);
      expect(await two.claim(first)).toEqual({ claimed: true });
      const refused = await one.claim(pendingToken('/a', '02'.repeat(32)));
      expect(refused).toEqual({ claimed: false, existing: first });
      expect((await one.get(first.key))?.paymentHash).toBe(first.paymentHash);

      await two.put(makeToken('/a', { paymentHash: '03'.repeat(32), expiresAt: 6_000 }));
      expect(await one.claim(pendingToken('/a', '02'.repeat(32)))).toMatchObject({
        claimed: false,
        existing: { state: 'paid', paymentHash: '03'.repeat(32) },
      });
      now = 6_000;
      expect(await one.claim(pendingToken('/a', '02'.repeat(32)))).toEqual({ claimed: true });
      expect(await new FileTokenStore(file).get(first.key)).toMatchObject({
        state: 'pending',
        paymentHash: '02'.repeat(32),
      });
      await expect(one.claim(makeToken('/b'))).rejects.toThrow(RangeError);
      expect(await two.list()).toHaveLength(1);
    });

    it('lets exactly one claim per key win across instances and batched claims', async () => {
      const stores = [new FileTokenStore(file), new FileTokenStore(file), new FileTokenStore(file)];
      const attempts = stores.flatMap((store, s) =>
        ['/a', '/b'].flatMap((path) =>
          [0, 1].map((i) => ({
            store,
            token: pendingToken(path, `${s}${i}`.repeat(32)),
          })),
        ),
      );
      const results = await Promise.all(attempts.map(({ store, token }) => store.claim(token)));
      const tokens = await new FileTokenStore(file).list();
      expect(tokens).toHaveLength(2);
      for (const token of tokens) {
        const forKey = attempts.flatMap((attempt, position) =>
          attempt.token.key === token.key ? [results[position]!] : [],
        );
        expect(forKey.filter((result) => result.claimed)).toHaveLength(1);
        for (const result of forKey) {
          if (!result.claimed) expect(result.existing.paymentHash).toBe(token.paymentHash);
        }
      }
    });

    it('lets exactly one process win each key when processes claim at the same time', async () => {
      const script = join(directory, 'claimer.mjs');
      await writeFile(
        script,
        `const { FileTokenStore } = await import(${JSON.stringify(storeModule)});
const [file, name, count] = process.argv.slice(2);
const store = new FileTokenStore(file, { lockTimeoutMs: 60_000 });
// Ready, then claim every key one by one once told to start, as the other processes do.
console.log('ready');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.pause();
const won = [];
for (let i = 0; i < Number(count); i++) {
  const result = await store.claim({
    key: 'https://api.example.com GET /' + i, origin: 'https://api.example.com', scope: '/' + i,
    method: 'GET', scheme: 'L402', macaroon: 'm', paymentHash: name.repeat(32), invoice: 'lnbc',
    amountMsat: 1n, feeMsat: 0n, state: 'pending', createdAt: i,
  });
  if (result.claimed) won.push(i);
}
console.log(JSON.stringify(won));
`,
      );
      const count = 30;
      const names = ['aa', 'bb', 'cc'];
      const children = names.map((name) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', script, file, name, String(count)],
          { cwd: repositoryRoot, stdio: ['pipe', 'pipe', 'inherit'] },
        );
        let stdout = '';
        const ready = new Promise<void>((resolve) => {
          child.stdout.on('data', (chunk) => {
            stdout += String(chunk);
            if (stdout.startsWith('ready\n')) resolve();
          });
        });
        const won = new Promise<number[]>((resolve, reject) => {
          child.on('error', reject);
          child.on('exit', () => resolve(JSON.parse(stdout.split('\n')[1] || 'null')));
        });
        return { child, ready, won };
      });
      await Promise.all(children.map(({ ready }) => ready));
      for (const { child } of children) child.stdin.end('go\n');
      const outputs = await Promise.all(children.map(({ won }) => won));
      // Every key won exactly once, by the process whose payment hash the file holds.
      expect(outputs.flat().sort((a, b) => a - b)).toEqual(
        Array.from({ length: count }, (_, i) => i),
      );
      const tokens = await new FileTokenStore(file).list();
      expect(tokens).toHaveLength(count);
      for (const [position, name] of names.entries()) {
        for (const i of outputs[position]!) {
          expect(tokens.find((token) => token.scope === `/${i}`)?.paymentHash).toBe(
            name.repeat(32),
          );
        }
      }
    });
  });

  describe('lock', () => {
    const lockFile = () => `${file}.lock`;
    const writeLock = (fields: Record<string, unknown>) =>
      writeFile(
        lockFile(),
        JSON.stringify({
          pid: process.pid,
          threadId,
          host: hostname(),
          id: 'someone',
          createdAt: Date.now(),
          ...fields,
        }),
      );

    it('breaks the lock of a dead process', async () => {
      const exited = spawn(process.execPath, ['-e', '']);
      const deadPid = exited.pid!;
      await new Promise((resolve) => exited.on('exit', resolve));
      await writeLock({ pid: deadPid });
      await new FileTokenStore(file, { lockTimeoutMs: 5_000 }).put(makeToken('/a'));
      expect(await readdir(directory)).toEqual(['tokens.json']);
    });

    it('breaks a lock whose pid names no single process (0, negative, not a whole number)', async () => {
      // process.kill(0, 0) would ask about this whole process group, which is alive.
      for (const pid of [0, -1, 1.5]) {
        await writeLock({ pid, threadId: 0 });
        await new FileTokenStore(file, { lockTimeoutMs: 1_000 }).put(makeToken('/a'));
        expect(await readdir(directory)).toEqual(['tokens.json']);
      }
    });

    it('waits for a live holder, then times out with a typed error', async () => {
      const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
      try {
        await writeLock({ pid: holder.pid, threadId: 0 });
        const error = await rejection(
          new FileTokenStore(file, { lockTimeoutMs: 150 }).put(makeToken('/a')),
        );
        expect(error).toBeInstanceOf(TokenStoreError);
        expect((error as TokenStoreError).paid).toBe(false);
        expect((error as Error).message).toMatch(
          /Timed out after 150 ms waiting for the token store lock/,
        );
      } finally {
        holder.kill();
        await new Promise((resolve) => holder.on('exit', resolve));
      }
      // Its owner is gone now: the next write breaks the lock.
      await new FileTokenStore(file, { lockTimeoutMs: 5_000 }).put(makeToken('/a'));
      expect(await new FileTokenStore(file).list()).toHaveLength(1);
    });

    it('breaks a lock older than staleLockMs even when its pid is alive (reused pid)', async () => {
      await writeLock({ pid: process.ppid, threadId: 0, createdAt: Date.now() - 120_000 });
      await new FileTokenStore(file, { lockTimeoutMs: 5_000 }).put(makeToken('/a'));
      expect(await readdir(directory)).toEqual(['tokens.json']);
    });

    it('breaks a lock with its own pid and thread that it does not hold (restarted container)', async () => {
      await writeLock({});
      await new FileTokenStore(file, { lockTimeoutMs: 5_000 }).put(makeToken('/a'));
      expect(await readdir(directory)).toEqual(['tokens.json']);
    });
  });

  describe('a file that cannot be read', () => {
    it.each([
      ['not JSON', '{"format":"l402kit-tokens","version":1,"tokens":[{"key":', /not valid JSON/],
      ['another format', '{"hello":"world"}', /it is not an l402kit token file/],
      [
        'a newer version',
        '{"format":"l402kit-tokens","version":2,"tokens":[]}',
        /it has format version 2, this l402kit reads version 1/,
      ],
      [
        'a bad token',
        '{"format":"l402kit-tokens","version":1,"tokens":[{"key":"k","origin":"https://a.test","scope":"/","scheme":"L402","macaroon":"m","paymentHash":"x","invoice":"i","amountMsat":"1.5","feeMsat":"0","state":"paid","createdAt":1}]}',
        /token 0: amountMsat must be a decimal string/,
      ],
    ])('fails with a typed error and is never overwritten: %s', async (_, content, message) => {
      await writeFile(file, content, { mode: 0o600 });
      const store = new FileTokenStore(file);
      for (const attempt of [
        () => store.list(),
        () => store.find(new URL('https://a.test/'), 'GET'),
        () => store.put(makeToken('/a')),
        () => store.clear(),
      ]) {
        const error = await rejection(attempt());
        expect(error).toBeInstanceOf(TokenStoreError);
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).toContain('It was left untouched');
      }
      expect(await readFile(file, 'utf8')).toBe(content);
      expect(await readdir(directory)).toEqual(['tokens.json']);
    });
  });

  it('keeps secrets out of its error messages', async () => {
    await writeFile(
      file,
      `{"format":"l402kit-tokens","version":1,"tokens":[{"key":"k","origin":"https://a.test","scope":"/","scheme":"L402","macaroon":"${MACAROON}","preimage":"${PREIMAGE.toUpperCase()}","paymentHash":"${'cd'.repeat(32)}","invoice":"i","amountMsat":"1","feeMsat":"0","state":"paid","createdAt":1}]}`,
    );
    const error = await rejection(new FileTokenStore(file).list());
    expect(error).toBeInstanceOf(TokenStoreError);
    expect((error as Error).message).toContain('preimage must be 64 lower-case hex characters');
    expect((error as Error).message).not.toContain(MACAROON);
    expect((error as Error).message).not.toContain(PREIMAGE.toUpperCase());
  });
});
