import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Msat } from '../amount.js';
import { hasErrorCode } from '../system.js';

/** One line of the spend log. It holds no secret: no macaroon, preimage or query string. */
export interface SpendLogEntry {
  /** ISO 8601. */
  time: string;
  /** Origin and path only; a query (which may carry API keys) is dropped. */
  url: string;
  amountMsat: Msat;
  feeMsat: Msat;
  paymentHash: string;
  /** "paid", "failed", "unknown", "preimage-mismatch", ... */
  outcome: string;
  description?: string;
}

export interface SpendLog {
  readonly path: string;
  /**
   * Appends one line; calls from one process are written in call order. Never rejects: the
   * log is a record, the budget is what enforces limits, so a full disk must not turn a
   * finished payment into an error. Failures go to `onError`.
   */
  append(entry: SpendLogEntry): Promise<void>;
  /** Every entry, oldest first. A torn or unreadable line (e.g. from a crash mid-write) is skipped. */
  read(): Promise<SpendLogEntry[]>;
}

export interface SpendLogOptions {
  /** Called when a line cannot be written. Default: a process warning. */
  onError?: (error: unknown) => void;
}

/** An append-only JSONL file (mode 0600, directory 0700 when created here). */
export function createSpendLog(path: string, options: SpendLogOptions = {}): SpendLog {
  const onError =
    options.onError ??
    ((error: unknown) => {
      const code = (error as { code?: unknown })?.code;
      process.emitWarning(
        `l402kit could not append to the spend log ${path}${code ? ` (${String(code)})` : ''}`,
      );
    });
  let tail: Promise<unknown> = Promise.resolve();
  let prepared = false;

  const write = async (line: string) => {
    const handle = await openForAppend();
    try {
      if (!prepared) {
        await handle.chmod(0o600);
        prepared = true;
      }
      // A crash (of any process) may have left a torn last line: start on a fresh one so
      // this entry survives.
      let text = line;
      const { size } = await handle.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) text = `\n${line}`;
      }
      // O_APPEND: each line lands whole at the end even with other processes appending.
      await handle.appendFile(text, 'utf8');
    } finally {
      await handle.close();
    }
  };

  const openForAppend = async () => {
    try {
      return await open(path, 'a+', 0o600);
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw error;
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      return await open(path, 'a+', 0o600);
    }
  };

  return {
    path,
    append(entry) {
      const result = tail
        .then(() => write(`${JSON.stringify(encodeEntry(entry))}\n`))
        .catch((error: unknown) => {
          try {
            onError(error);
          } catch {}
        });
      tail = result;
      return result;
    },
    async read() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if (hasErrorCode(error, 'ENOENT')) return [];
        throw error;
      }
      const entries: SpendLogEntry[] = [];
      for (const line of text.split('\n')) {
        const entry = decodeEntry(line);
        if (entry !== undefined) entries.push(entry);
      }
      return entries;
    },
  };
}

/** Origin and path of a URL, without credentials, query or fragment. */
export function urlWithoutSecrets(url: string | URL): string {
  try {
    const parsed = new URL(url);
    return parsed.origin === 'null' ? parsed.protocol : `${parsed.origin}${parsed.pathname}`;
  } catch {
    return String(url).replace(/[?#].*$/s, '');
  }
}

// Only known fields are written, so a secret passed along by mistake never reaches the file.
function encodeEntry(entry: SpendLogEntry): Record<string, unknown> {
  const record: Record<string, unknown> = {
    time: entry.time,
    url: urlWithoutSecrets(entry.url),
    amountMsat: entry.amountMsat.toString(),
    feeMsat: entry.feeMsat.toString(),
    paymentHash: entry.paymentHash,
    outcome: entry.outcome,
  };
  if (entry.description !== undefined) record.description = entry.description;
  return record;
}

function decodeEntry(line: string): SpendLogEntry | undefined {
  if (line.trim() === '') return undefined;
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    const { time, url, amountMsat, feeMsat, paymentHash, outcome, description } = value;
    if (
      typeof time !== 'string' ||
      typeof url !== 'string' ||
      typeof amountMsat !== 'string' ||
      !/^\d+$/.test(amountMsat) ||
      typeof feeMsat !== 'string' ||
      !/^\d+$/.test(feeMsat) ||
      typeof paymentHash !== 'string' ||
      typeof outcome !== 'string'
    ) {
      return undefined;
    }
    const entry: SpendLogEntry = {
      time,
      url,
      amountMsat: BigInt(amountMsat),
      feeMsat: BigInt(feeMsat),
      paymentHash,
      outcome,
    };
    if (typeof description === 'string') entry.description = description;
    return entry;
  } catch {
    return undefined;
  }
}
