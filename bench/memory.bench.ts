import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FileTokenStore, MemoryTokenStore, type StoredToken, type TokenStore } from '@l402kit/core';
import { type BenchTable, round } from './bench-table.js';
import { tokenFactory } from './bench-tokens.js';

/** A forced full collection, so heap deltas count only what is still referenced. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
}

async function fill(store: TokenStore, count: number, make: (index: number) => StoredToken) {
  // Concurrent puts: the file store applies them in one locked write.
  const puts: Promise<void>[] = [];
  for (let index = 0; index < count; index++) puts.push(store.put(make(index)));
  await Promise.all(puts);
}

/** The floor any JSON file store pays: read the file and parse it (nothing kept afterwards). */
async function timeReadAndParse(path: string, expected: number): Promise<number> {
  const started = performance.now();
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { tokens: unknown[] };
  const elapsed = performance.now() - started;
  if (parsed.tokens.length !== expected) throw new Error('the file lost tokens');
  return elapsed;
}

/**
 * Heap bytes per cached token in the memory and file stores, the file's bytes per token, and
 * the start-up of a file store holding 100,000 tokens: constructing it and its first `find`,
 * set against reading and `JSON.parse`-ing the same file.
 */
export async function memoryBench(
  options: { memoryTokens?: number; fileTokens?: number } = {},
): Promise<BenchTable> {
  const memoryTokens = options.memoryTokens ?? 50_000;
  const fileTokens = options.fileTokens ?? 100_000;
  const gc = collector();
  const make = tokenFactory();
  const probe = new URL(
    `https://api${(fileTokens - 1) % 20}.example/v1/articles/${fileTokens - 1}`,
  );
  const directory = await mkdtemp(join(tmpdir(), 'l402kit-bench-'));
  try {
    gc();
    let heapBefore = process.memoryUsage().heapUsed;
    const memoryStore = new MemoryTokenStore();
    await fill(memoryStore, memoryTokens, make);
    gc();
    const memoryBytes = (process.memoryUsage().heapUsed - heapBefore) / memoryTokens;
    if (!(await memoryStore.find(new URL('https://api1.example/v1/articles/1'), 'GET'))) {
      throw new Error('memory store lost a token');
    }

    const path = join(directory, 'tokens.json');
    await fill(new FileTokenStore(path), fileTokens, make);
    const fileBytes = (await stat(path)).size / fileTokens;
    gc();

    const parseMs = await timeReadAndParse(path, fileTokens);
    gc();
    heapBefore = process.memoryUsage().heapUsed;
    let started = performance.now();
    const reopened = new FileTokenStore(path);
    const found = await reopened.find(probe, 'GET');
    const startupMs = performance.now() - started;
    if (!found) throw new Error('the reopened file store lost a token');
    gc();
    const fileHeapBytes = (process.memoryUsage().heapUsed - heapBefore) / fileTokens;

    // A find once loaded: one stat to see the file is unchanged, then the index.
    const finds = 1_000;
    started = performance.now();
    for (let index = 0; index < finds; index++) {
      await reopened.find(new URL(`https://api${index % 20}.example/v1/articles/${index}`), 'GET');
    }
    const findMicroseconds = ((performance.now() - started) * 1_000) / finds;

    return {
      id: 'memory',
      title: 'Token stores: memory per cached token, file store start-up',
      rows: [
        {
          measure: `MemoryTokenStore heap bytes per token (${memoryTokens.toLocaleString('en')} tokens)`,
          value: Math.round(memoryBytes),
        },
        {
          measure: `FileTokenStore heap bytes per token once loaded (${fileTokens.toLocaleString('en')} tokens)`,
          value: Math.round(fileHeapBytes),
        },
        { measure: 'FileTokenStore file bytes per token', value: Math.round(fileBytes) },
        {
          measure: `FileTokenStore start-up: construct + first find, ${fileTokens.toLocaleString('en')} tokens (ms)`,
          value: round(startupMs, 0),
        },
        {
          measure: 'start-up / (readFile + JSON.parse of the same file)',
          value: round(startupMs / parseMs),
        },
        {
          measure: 'find on the loaded store (µs, mean of 1,000)',
          value: round(findMicroseconds, 1),
        },
      ],
      notes: [
        'Heap bytes are process heap growth after a forced GC divided by the tokens held; strings of one token are shared with nothing else.',
        'The start-up ratio compares l402kit loading and validating the file (and indexing it by origin and path) with the bare read + JSON.parse every JSON store pays; the times are from this run only.',
      ],
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
