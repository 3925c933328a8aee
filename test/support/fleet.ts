// Worker processes that share durable budgets and tokens, driven over stdin/stdout: the test
// writes URLs (a line each), the worker fetches them all at once and prints one JSON line per
// URL. Used by the SQLite fleet (sqlite-fleet.ts) and the PostgreSQL fleet (postgres-fleet.ts).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Price of every resource and the sandbox's routing fee in a fleet: a purchase costs exactly this. */
export const PRICE_MSAT = 10_000n;
export const FEE_MSAT = 1_000n;

/** What a fleet worker prints per URL. */
export interface FleetOutcome {
  url: string;
  status?: number;
  paid?: boolean;
  paymentHash?: string;
  error?: { code: string; paid: boolean | 'unknown'; message: string };
}

/** A worker script (a path under test/support) run with tsx on the workspace sources. */
export function startWorker(script: URL, env: Record<string, string>) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--conditions=@l402kit/source', '--import', 'tsx', fileURLToPath(script)],
    { cwd: root, env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  const outcomes: FleetOutcome[] = [];
  const sent: string[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    let parsed: FleetOutcome & { ready?: boolean };
    try {
      parsed = JSON.parse(line);
    } catch {
      // The last line of a worker killed while writing it: that call counts as unanswered.
      return;
    }
    if (parsed.ready) ready();
    else outcomes.push(parsed);
  });
  return {
    child,
    outcomes,
    exited,
    ready: () =>
      Promise.race([
        isReady,
        exited.then(() => {
          throw new Error(`worker exited: ${stderr.slice(-2000)}`);
        }),
      ]),
    fetch(urls: string[]) {
      sent.push(...urls);
      child.stdin.write(urls.map((url) => `${url}\n`).join(''));
    },
    /** URLs sent that have no answer yet (each answer takes one copy of its URL). */
    unanswered(): string[] {
      const left = [...sent];
      for (const outcome of outcomes) left.splice(left.indexOf(outcome.url), 1);
      return left;
    },
    stderr: () => stderr,
    alive: () => child.exitCode === null && child.signalCode === null,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}

export type Worker = ReturnType<typeof startWorker>;

/** A small seeded generator, so a failing random sequence can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `count` calls over `resources` resources (`/r/0` …), shuffled by `random`. */
export function calls(
  baseUrl: string,
  count: number,
  resources: number,
  random: () => number,
): string[] {
  const urls = Array.from({ length: count }, (_, index) => `${baseUrl}/r/${index % resources}`);
  for (let index = urls.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [urls[index], urls[other]] = [urls[other]!, urls[index]!];
  }
  return urls;
}

/** Resolves once `condition` holds, checking every few milliseconds. */
export async function eventually(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** The books a fleet left in its database (the daily level, reservations, tokens), next to the sandbox's payments. */
export interface FleetBooks {
  spentMsat: bigint;
  reservedMsat: bigint;
  pendingMsat: bigint;
  reservations: { payment_hash: string; state: string; spent_msat: bigint }[];
  tokens: { key: string; payment_hash: string; state: string }[];
  payments: { paymentHash: string; amountMsat: bigint; feeMsat: bigint }[];
  paidMsat: bigint;
}

/**
 * What must hold after any run, kills or not: every payment the sandbox made is charged
 * exactly once, with its amount and fee, and bought a resource no other payment bought (its
 * token holds that payment's hash); nothing is charged that the sandbox did not pay; the level
 * never holds more than its limit. Returns a list of violations (empty when the books are right).
 */
export function bookViolations(fleet: { dailyMsat: bigint }, books: FleetBooks): string[] {
  const violations: string[] = [];
  const succeeded = new Set(books.payments.map((payment) => payment.paymentHash));
  for (const payment of books.payments) {
    const charged = books.reservations
      .filter((each) => each.payment_hash === payment.paymentHash && each.state === 'committed')
      .map((each) => each.spent_msat);
    if (charged.length !== 1 || charged[0] !== payment.amountMsat + payment.feeMsat) {
      violations.push(`payment ${payment.paymentHash} charged ${charged.join(', ') || 'never'}`);
    }
    const token = books.tokens.find((each) => each.payment_hash === payment.paymentHash);
    if (token?.state !== 'paid')
      violations.push(`payment ${payment.paymentHash} has no paid token`);
  }
  for (const reservation of books.reservations) {
    if (reservation.state === 'committed' && !succeeded.has(reservation.payment_hash)) {
      violations.push(`reservation for ${reservation.payment_hash} committed but never paid`);
    }
  }
  const resources = books.payments.map(
    (payment) => books.tokens.find((token) => token.payment_hash === payment.paymentHash)?.key,
  );
  if (new Set(resources).size !== resources.length) {
    violations.push(`a resource was bought twice: ${resources.join(', ')}`);
  }
  if (books.spentMsat !== books.paidMsat) {
    violations.push(`ledger spent ${books.spentMsat} msat, sandbox paid ${books.paidMsat} msat`);
  }
  if (books.spentMsat + books.reservedMsat + books.pendingMsat > fleet.dailyMsat) {
    violations.push(
      `the daily level holds ${books.spentMsat} + ${books.reservedMsat} + ${books.pendingMsat} msat, above ${fleet.dailyMsat}`,
    );
  }
  return violations;
}
