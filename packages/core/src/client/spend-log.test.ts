import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSpendLog, type SpendLogEntry, urlWithoutSecrets } from './spend-log.js';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'l402kit-spend-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const entry = (index: number): SpendLogEntry => ({
  time: new Date(1_700_000_000_000 + index).toISOString(),
  url: `https://api.example.com/v1/item/${index}`,
  amountMsat: 1_000n * BigInt(index) + 1n,
  feeMsat: 7n,
  paymentHash: 'cd'.repeat(32),
  outcome: 'paid',
});

describe('createSpendLog', () => {
  it('appends JSONL lines in call order and reads them back exactly', async () => {
    const log = createSpendLog(join(directory, 'logs', 'spend.jsonl'));
    expect(await log.read()).toEqual([]);
    await Promise.all(Array.from({ length: 50 }, (_, index) => log.append(entry(index))));
    await log.append({
      ...entry(50),
      amountMsat: 2n ** 70n,
      outcome: 'unknown',
      description: 'a dataset',
    });
    const entries = await log.read();
    expect(entries).toHaveLength(51);
    expect(entries.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, index) => entry(index)));
    expect(entries[50]).toMatchObject({
      amountMsat: 2n ** 70n,
      outcome: 'unknown',
      description: 'a dataset',
    });
    const lines = (await readFile(log.path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(51);
    expect(JSON.parse(lines[0]!)).toMatchObject({ amountMsat: '1', feeMsat: '7' });
  });

  it('creates the file with mode 0600 and its directory with 0700', async () => {
    const log = createSpendLog(join(directory, 'new', 'spend.jsonl'));
    await log.append(entry(1));
    expect((await stat(log.path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(directory, 'new'))).mode & 0o777).toBe(0o700);
  });

  it('tightens the mode of an existing file', async () => {
    const path = join(directory, 'spend.jsonl');
    await writeFile(path, '', { mode: 0o644 });
    await createSpendLog(path).append(entry(1));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('writes no secrets: no query, credentials or fields it does not know', async () => {
    const log = createSpendLog(join(directory, 'spend.jsonl'));
    await log.append({
      ...entry(1),
      url: 'https://user:password@api.example.com/v1/search?api_key=SECRET#frag',
      macaroon: 'MACAROON-SECRET',
      preimage: 'PREIMAGE-SECRET',
    } as SpendLogEntry);
    const text = await readFile(log.path, 'utf8');
    for (const secret of ['SECRET', 'password', 'frag', 'macaroon', 'preimage']) {
      expect(text).not.toContain(secret);
    }
    expect((await log.read())[0]!.url).toBe('https://api.example.com/v1/search');
    expect(urlWithoutSecrets('not a url?token=x')).toBe('not a url');
  });

  it('skips a torn last line left by a crash', async () => {
    const log = createSpendLog(join(directory, 'spend.jsonl'));
    await log.append(entry(1));
    await appendFile(log.path, '{"time":"2024-01-01T00:00:00.000Z","url":"https://a');
    await log.append(entry(2));
    expect((await log.read()).map((each) => each.amountMsat)).toEqual([1_001n, 2_001n]);
  });

  it('never rejects: a failed write goes to onError', async () => {
    const errors: unknown[] = [];
    // A directory where the file should be makes every append fail.
    const log = createSpendLog(directory, { onError: (error) => errors.push(error) });
    await expect(log.append(entry(1))).resolves.toBeUndefined();
    await expect(log.append(entry(2))).resolves.toBeUndefined();
    expect(errors).toHaveLength(2);
    expect((errors[0] as { code?: string }).code).toBe('EISDIR');
  });
});
