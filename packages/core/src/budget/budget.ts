import { formatMsat, type Msat, satsToMsat } from '../amount.js';
import { budgetHost } from '../canonical-host.js';
import {
  BudgetConfigError,
  BudgetExceededError,
  DatabaseUnavailableError,
  L402Error,
  type Paid,
} from '../errors.js';
import { createMemoryLedger } from './memory-ledger.js';
import {
  checkLevelDefinition,
  findRefusal,
  formatWindow,
  type LedgerRefusal,
  type LevelBooks,
  type LevelDefinition,
  parseWindow,
  type ReservationState,
  type SpendLedger,
} from './spend-ledger.js';

export type { ReservationState } from './spend-ledger.js';

export interface BudgetOptions {
  /** Total limit in sats (fractions allowed down to 1 msat). Omitted: no total limit at this level. */
  maxSats?: number | bigint;
  /** Total limit in msat; when both this and `maxSats` are given the smaller one applies. */
  maxMsat?: Msat;
  /** Cap on one payment, invoice amount plus the maximum routing fee. */
  maxSatsPerRequest?: number | bigint;
  maxMsatPerRequest?: Msat;
  /**
   * Cap on everything spent, reserved or pending for one host. Hosts are compared in canonical
   * form (`budgetHost`): case, a trailing dot, the port and IPv4/IPv6 spellings do not make
   * another host, and every loopback name and address counts as the one host `localhost`.
   */
  maxSatsPerHost?: number | bigint;
  maxMsatPerHost?: Msat;
  /**
   * A rolling window for the limits: `'1h'`, `'24h'`, `'7d'` or milliseconds. A payment counts
   * while the time it was made lies inside the window; reserved and unknown payments count
   * until they are resolved, whatever their age. Omitted: the limits are totals.
   */
  window?: string | number;
  /** Shown in messages and status, e.g. "daily" or "run 42". In a ledger, the level's name. */
  name?: string;
  /** Every reservation must also fit this budget and all of its ancestors. */
  parent?: Budget;
  /**
   * Where this level's books are kept. Omitted: in this process's memory, private to this
   * budget. In a ledger (e.g. `openSqliteLedger`) the level is found by `name`, shared with
   * every budget and process using that ledger, and created or updated with these limits.
   */
  ledger?: SpendLedger;
}

export interface ReserveRequest {
  /** Invoice amount. */
  amountMsat: Msat;
  /** The most the wallet may spend on routing fees; reserved up front so fees cannot overspend. */
  maxFeeMsat: Msat;
  /** The payee's host name (a port is ignored); see `maxSatsPerHost`. */
  host: string;
  description?: string;
  /** Only used in error details; pass it without secrets in the query. */
  url?: string;
  /** Recorded with a durable reservation, so that a later process can settle it through the wallet. */
  paymentHash?: string;
}

/**
 * Money set aside for one payment at every budget level. Settle it exactly once with
 * `commit` (paid) or `release` (surely not paid); `markUnknown` keeps it counted while the
 * outcome is not known yet.
 */
export interface Reservation {
  readonly id: string;
  readonly budget: Budget;
  readonly host: string;
  readonly description: string | undefined;
  readonly amountMsat: Msat;
  readonly maxFeeMsat: Msat;
  readonly state: ReservationState;
  /** What counted as spent once committed (amount + actual fee), otherwise 0. */
  readonly spentMsat: Msat;
  /**
   * The payment went through with this routing fee: amount + fee become spent and the rest
   * of the fee reserve is released. A fee above `maxFeeMsat` is still counted in full (the
   * books follow what the wallet actually paid). Also accepted after `release`: a payment
   * that was wrongly presumed failed is then counted. Returns false when already committed.
   */
  commit(actualFeeMsat: Msat): Promise<boolean>;
  /** The payment surely failed: nothing spent. Returns false (and changes nothing) once committed or released. */
  release(): Promise<boolean>;
  /** The outcome is unknown: the full reservation stays counted as pending until `commit` or `release`. */
  markUnknown(): Promise<boolean>;
}

export interface BudgetStatus {
  name: string;
  /** Total limit at this level; absent when this level has none. */
  limitMsat?: Msat;
  perRequestLimitMsat?: Msat;
  perHostLimitMsat?: Msat;
  /** The rolling window the limit applies to, in ms; absent for a total. */
  windowMs?: number;
  /** Committed payments, fees included (within the window, when there is one). */
  spentMsat: Msat;
  /** Set aside for payments in flight (amount + maximum fee). */
  reservedMsat: Msat;
  /** Payments whose outcome is unknown; counted against the limit until resolved. */
  pendingMsat: Msat;
  /** limit - spent - reserved - pending at this level (never negative); absent without a limit. */
  remainingMsat?: Msat;
  /** The most one payment may cost right now across this level and every ancestor; absent when unlimited. */
  availableMsat?: Msat;
  /** Committed spending per host. */
  perHost: Record<string, Msat>;
  parent?: BudgetStatus;
}

export interface Budget {
  readonly name: string;
  readonly parent: Budget | undefined;
  /**
   * Atomically reserves amount + maxFee at this level and every ancestor, or rejects with
   * `BudgetExceededError` and reserves nothing. Async, as the books may live in a database.
   */
  reserve(request: ReserveRequest): Promise<Reservation>;
  canAfford(amountMsat: Msat, maxFeeMsat: Msat, host: string): Promise<boolean>;
  status(): Promise<BudgetStatus>;
  /** A budget under this one: each of its reservations must also fit here. */
  child(options?: Omit<BudgetOptions, 'parent'>): Budget;
}

/** One level of a budget chain: where its books are, under which name. */
interface LevelRef {
  ledger: SpendLedger;
  /** The level's name in its ledger. */
  key: string;
  /** The name people see. */
  name: string;
}

interface Internals {
  /** This budget's own levels (usually one), resolved when the books are first needed. */
  ownLevels: () => Promise<LevelRef[]>;
  parent: Budget | undefined;
}

const internals = new WeakMap<Budget, Internals>();
// Budgets without a ledger keep their books here, each level under a private key.
const privateLedger = createMemoryLedger();
let nextPrivateLevel = 1;

export function createBudget(options: BudgetOptions = {}): Budget {
  if (options.parent !== undefined && !internals.has(options.parent)) {
    throw new BudgetConfigError('parent must be a budget made by createBudget.');
  }
  const name =
    options.name ?? (options.parent === undefined ? 'budget' : `${options.parent.name}/child`);
  const definition = budgetOption(() => levelDefinition(options, name));
  const ledger = options.ledger ?? privateLedger;
  const key = options.ledger === undefined ? `#${nextPrivateLevel++} ${name}` : name;
  // Defined once, before the first reservation; a ledger that cannot be written fails it.
  let defined: Promise<LevelRef[]> | undefined;
  const ownLevels = () => {
    defined ??= ledger
      .defineLevel({ ...definition, name: key })
      .then(() => [{ ledger, key, name }]);
    return defined;
  };
  if (options.ledger === undefined) void ownLevels();
  return budgetOver(name, options.parent, ownLevels);
}

/** The limits `options` set, checked. */
function levelDefinition(options: BudgetOptions, name: string): Omit<LevelDefinition, 'name'> {
  const definition: Omit<LevelDefinition, 'name'> = {
    ...optional('limitMsat', limitOf(options.maxSats, 'maxSats', options.maxMsat, 'maxMsat')),
    ...optional(
      'perRequestMsat',
      limitOf(
        options.maxSatsPerRequest,
        'maxSatsPerRequest',
        options.maxMsatPerRequest,
        'maxMsatPerRequest',
      ),
    ),
    ...optional(
      'perHostMsat',
      limitOf(options.maxSatsPerHost, 'maxSatsPerHost', options.maxMsatPerHost, 'maxMsatPerHost'),
    ),
    ...optional('windowMs', options.window === undefined ? undefined : parseWindow(options.window)),
  };
  // The limits only: a name is checked where a ledger keeps it.
  checkLevelDefinition({ ...definition, name: name || 'budget' });
  return definition;
}

/** Runs `read`; a RangeError about an option becomes a typed BudgetConfigError. */
function budgetOption<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new BudgetConfigError(error.message, { paid: false });
  }
}

/**
 * A budget charged to every shared level of a ledger (those set with `l402kit budget set`),
 * read from the ledger on each use so that a level added meanwhile applies at once. Without
 * any shared level it limits nothing.
 */
export function createSharedBudget(ledger: SpendLedger, name = 'shared'): Budget {
  return budgetOver(name, undefined, async () =>
    (await ledger.listLevels())
      .filter((level) => level.shared)
      .map((level) => ({ ledger, key: level.name, name: level.name })),
  );
}

function budgetOver(
  name: string,
  parent: Budget | undefined,
  ownLevels: () => Promise<LevelRef[]>,
): Budget {
  const budget: Budget = {
    name,
    parent,
    reserve(request) {
      return reserveInBudgets([budget], request);
    },
    async canAfford(amountMsat, maxFeeMsat, host) {
      const need = requireMsat(amountMsat, 'amountMsat') + requireMsat(maxFeeMsat, 'maxFeeMsat');
      const canonical = budgetHost(host);
      for (const [ledger, refs] of byLedger(await chainOf([budget]))) {
        const books = await ledger.books(refs.map((ref) => ref.key));
        const refusal = findRefusal(
          books.map((each) => ({ books: each, hostBooks: hostBooksFrom(each, canonical) })),
          need,
        );
        if (refusal !== undefined) return false;
      }
      return true;
    },
    async status() {
      return statusOf(await chainOf([budget]));
    },
    child(childOptions = {}) {
      return createBudget({ ...childOptions, parent: budget });
    },
  };
  internals.set(budget, { ownLevels, parent });
  return Object.freeze(budget);
}

/**
 * Reserves one payment at every level of every budget given (a level shared by two of them
 * once), atomically within each ledger; across ledgers the in-memory ones go first and all
 * are released if a later one refuses. Rejects with `BudgetExceededError` and holds nothing.
 */
export async function reserveInBudgets(
  budgets: Budget[],
  request: ReserveRequest,
): Promise<Reservation> {
  const amount = requireMsat(request.amountMsat, 'amountMsat');
  const maxFee = requireMsat(request.maxFeeMsat, 'maxFeeMsat');
  // Every spelling of one host shares its per-host books.
  const host = budgetHost(request.host);
  const chain = await chainOf(budgets);
  const groups = [...byLedger(chain)].sort(([a], [b]) => Number(a.durable) - Number(b.durable));
  const parts: { ledger: SpendLedger; id: string }[] = [];
  try {
    for (const [ledger, refs] of groups) {
      const outcome = await ledger.reserve({
        levels: refs.map((ref) => ref.key),
        amountMsat: amount,
        maxFeeMsat: maxFee,
        host,
        ...optional('paymentHash', request.paymentHash),
        ...optional('description', request.description),
      });
      if ('refusal' in outcome) {
        const name = refs.find((ref) => ref.key === outcome.refusal.level)?.name;
        throw new BudgetExceededError(
          describeRefusal(
            { ...outcome.refusal, level: name ?? outcome.refusal.level },
            amount,
            maxFee,
            host,
          ),
          { paid: false, url: request.url },
        );
      }
      parts.push({ ledger, id: outcome.entry.id });
    }
  } catch (error) {
    await Promise.allSettled(parts.map((part) => part.ledger.release(part.id)));
    throw error;
  }
  return createReservation(budgets[0]!, parts, host, request.description, amount, maxFee);
}

/** The durable ledgers (database files or servers) holding levels of these budgets' chains. */
export async function durableLedgersOf(budgets: Budget[]): Promise<SpendLedger[]> {
  return [
    ...new Set(
      (await chainOf(budgets)).map((ref) => ref.ledger).filter((ledger) => ledger.durable),
    ),
  ];
}

/** A few sentences a model or a person can read: what is left, the caps, and the parents. */
export async function describeBudget(budget: Budget | BudgetStatus): Promise<string> {
  const status = isBudget(budget) ? await budget.status() : budget;
  const lines: string[] = [];
  let current: BudgetStatus | undefined = status;
  while (current !== undefined) {
    const parts: string[] = [];
    const window =
      current.windowMs === undefined ? '' : ` in the last ${formatWindow(current.windowMs)}`;
    if (current.limitMsat === undefined) {
      parts.push(
        `Budget "${current.name}": no total limit; spent ${formatMsat(current.spentMsat)}${window}`,
      );
    } else {
      parts.push(
        `Budget "${current.name}": ${formatMsat(current.remainingMsat ?? 0n)} left of ${formatMsat(current.limitMsat)}${window}; spent ${formatMsat(current.spentMsat)}`,
      );
    }
    if (current.reservedMsat > 0n) parts.push(`${formatMsat(current.reservedMsat)} in flight`);
    if (current.pendingMsat > 0n) {
      parts.push(
        `${formatMsat(current.pendingMsat)} in payments of unknown outcome (counted as spent)`,
      );
    }
    if (current.perRequestLimitMsat !== undefined) {
      parts.push(`at most ${formatMsat(current.perRequestLimitMsat)} per request, fees included`);
    }
    if (current.perHostLimitMsat !== undefined) {
      parts.push(`at most ${formatMsat(current.perHostLimitMsat)} per host`);
    }
    lines.push(`${parts.join('; ')}.`);
    current = current.parent;
  }
  if (status.availableMsat !== undefined) {
    lines.unshift(
      `The most one payment may cost now is ${formatMsat(status.availableMsat)}, routing fees included.`,
    );
  }
  return lines.join('\n');
}

function isBudget(value: Budget | BudgetStatus): value is Budget {
  return typeof (value as Budget).status === 'function';
}

/** The levels of these budgets and their ancestors, each once, in order (own level first). */
async function chainOf(budgets: Budget[]): Promise<LevelRef[]> {
  const refs: LevelRef[] = [];
  const seen = new Set<string>();
  const ledgerIds = new Map<SpendLedger, number>();
  for (const start of budgets) {
    for (let budget: Budget | undefined = start; budget !== undefined; ) {
      const inside = internals.get(budget);
      if (inside === undefined) throw new RangeError('not a budget made by createBudget');
      for (const ref of await inside.ownLevels()) {
        if (!ledgerIds.has(ref.ledger)) ledgerIds.set(ref.ledger, ledgerIds.size);
        const id = `${ledgerIds.get(ref.ledger)}:${ref.key}`;
        if (seen.has(id)) continue;
        seen.add(id);
        refs.push(ref);
      }
      budget = inside.parent;
    }
  }
  return refs;
}

function byLedger(refs: LevelRef[]): Map<SpendLedger, LevelRef[]> {
  const groups = new Map<SpendLedger, LevelRef[]>();
  for (const ref of refs) {
    const group = groups.get(ref.ledger);
    if (group) group.push(ref);
    else groups.set(ref.ledger, [ref]);
  }
  return groups;
}

async function statusOf(chain: LevelRef[]): Promise<BudgetStatus> {
  const books = new Map<LevelRef, LevelBooks>();
  await Promise.all(
    [...byLedger(chain)].map(async ([ledger, refs]) => {
      const found = await ledger.books(refs.map((ref) => ref.key));
      for (const ref of refs) {
        const each = found.find((candidate) => candidate.level.name === ref.key);
        if (each) books.set(ref, each);
      }
    }),
  );
  const statuses = chain.flatMap((ref) => {
    const each = books.get(ref);
    return each === undefined ? [] : [levelStatus(ref.name, each)];
  });
  if (statuses.length === 0) {
    return { name: 'budget', spentMsat: 0n, reservedMsat: 0n, pendingMsat: 0n, perHost: {} };
  }
  // Each level's `availableMsat` is the least room left from it up to the root.
  for (let index = statuses.length - 1; index >= 0; index--) {
    const status = statuses[index]!;
    const above = statuses[index + 1];
    let available = above?.availableMsat;
    for (const cap of [status.perRequestLimitMsat, status.remainingMsat]) {
      if (cap !== undefined && (available === undefined || cap < available)) available = cap;
    }
    if (available !== undefined) status.availableMsat = available;
    if (above) status.parent = above;
  }
  return statuses[0]!;
}

function levelStatus(name: string, books: LevelBooks): BudgetStatus {
  const { level } = books;
  const status: BudgetStatus = {
    name,
    spentMsat: books.spentMsat,
    reservedMsat: books.reservedMsat,
    pendingMsat: books.pendingMsat,
    perHost: books.perHost,
  };
  if (level.limitMsat !== undefined) {
    status.limitMsat = level.limitMsat;
    status.remainingMsat = positive(
      level.limitMsat - books.spentMsat - books.reservedMsat - books.pendingMsat,
    );
  }
  if (level.perRequestMsat !== undefined) status.perRequestLimitMsat = level.perRequestMsat;
  if (level.perHostMsat !== undefined) status.perHostLimitMsat = level.perHostMsat;
  if (level.windowMs !== undefined) status.windowMs = level.windowMs;
  return status;
}

function hostBooksFrom(books: LevelBooks, host: string) {
  return {
    spentMsat: books.perHost[host] ?? 0n,
    reservedMsat: books.heldPerHost[host] ?? 0n,
    pendingMsat: 0n,
  };
}

function describeRefusal(refusal: LedgerRefusal, amount: Msat, maxFee: Msat, host: string) {
  const requested = `requested ${formatMsat(amount + maxFee)} (${formatMsat(amount)} + up to ${formatMsat(maxFee)} routing fee)`;
  const name = `budget "${refusal.level}"`;
  if (refusal.rule === 'per request') {
    return `Payment refused by ${name}: per-request limit ${formatMsat(refusal.limitMsat)}, ${requested}. Nothing was paid.`;
  }
  const books = `spent ${formatMsat(refusal.spentMsat)}, reserved ${formatMsat(refusal.reservedMsat)}, pending ${formatMsat(refusal.pendingMsat)}`;
  if (refusal.rule === 'per host') {
    return `Payment refused by ${name}: per-host limit ${formatMsat(refusal.limitMsat)} for ${host}, ${books}, ${requested}. Nothing was paid.`;
  }
  return `Payment refused by ${name}: limit ${formatMsat(refusal.limitMsat)}, ${books}, ${requested}. Nothing was paid.`;
}

function createReservation(
  budget: Budget,
  parts: { ledger: SpendLedger; id: string }[],
  host: string,
  description: string | undefined,
  amount: Msat,
  maxFee: Msat,
): Reservation {
  let state: ReservationState = 'reserved';
  let spent = 0n;
  // Every part is settled even if one ledger fails; the first failure is then thrown, saying
  // what this reservation knows was paid (a ledger cannot know it).
  const settle = async (
    apply: (part: { ledger: SpendLedger; id: string }) => Promise<boolean>,
    outcome?: { paid: Paid; amountMsat: Msat; action: string },
  ) => {
    const results = await Promise.allSettled(parts.map(apply));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw outcome ? unrecorded(failed.reason, outcome) : failed.reason;
    return results.some((result) => result.status === 'fulfilled' && result.value);
  };
  return {
    id: parts.map((part) => part.id).join('+'),
    budget,
    host,
    description,
    amountMsat: amount,
    maxFeeMsat: maxFee,
    get state() {
      return state;
    },
    get spentMsat() {
      return spent;
    },
    async commit(actualFeeMsat) {
      const fee = requireMsat(actualFeeMsat, 'actualFeeMsat');
      if (state === 'committed') return false;
      state = 'committed';
      spent = amount + fee;
      return settle((part) => part.ledger.commit(part.id, fee), {
        paid: true,
        amountMsat: spent,
        action: 'record the payment',
      });
    },
    async release() {
      if (state === 'committed' || state === 'released') return false;
      state = 'released';
      return settle((part) => part.ledger.release(part.id));
    },
    async markUnknown() {
      if (state !== 'reserved') return false;
      state = 'unknown';
      return settle((part) => part.ledger.markUnknown(part.id), {
        paid: 'unknown',
        amountMsat: amount + maxFee,
        action: 'mark the payment unknown',
      });
    },
  };
}

/**
 * A ledger's failure to record a payment or an unknown outcome, as the error that says what
 * was paid: the ledger's own error says nothing was paid, which is true only of a reservation.
 * The entry stays reserved in the ledger, counted in full, until it is settled
 * (`settleOpenReservations`, which the CLI and the MCP server run at start).
 */
function unrecorded(
  reason: unknown,
  outcome: { paid: Paid; amountMsat: Msat; action: string },
): unknown {
  if (!(reason instanceof L402Error) || reason.paid !== false) return reason;
  const problem = reason.message.replace(/\s*Nothing was paid\b.*$/s, '');
  const what =
    outcome.paid === true
      ? `The payment of ${formatMsat(outcome.amountMsat)} was made, but the budget could not ${outcome.action}`
      : `The payment's outcome is unknown, and the budget could not ${outcome.action}`;
  return new DatabaseUnavailableError(
    `${what}: ${problem} It stays counted in full until it is settled.`,
    {
      paid: outcome.paid,
      amountMsat: outcome.amountMsat,
      cause: (reason as { cause?: unknown }).cause,
    },
  );
}

function optional<Key extends string, Value>(
  key: Key,
  value: Value | undefined,
): { [K in Key]?: Value } {
  return (value === undefined ? {} : { [key]: value }) as { [K in Key]?: Value };
}

function positive(value: Msat): Msat {
  return value > 0n ? value : 0n;
}

/** The smaller of a sats and an msat limit, either optional. */
function limitOf(
  sats: number | bigint | undefined,
  satsName: string,
  msat: Msat | undefined,
  msatName: string,
): Msat | undefined {
  const a = toLimit(sats, satsName);
  const b = msat === undefined ? undefined : requireMsat(msat, msatName);
  if (a === undefined) return b;
  if (b === undefined) return a;
  // biome-ignore lint/complexity/useMathMinMax: Math.min does not take bigints (msat).
  return a < b ? a : b;
}

function toLimit(sats: number | bigint | undefined, name: string): Msat | undefined {
  if (sats === undefined) return undefined;
  let msat: Msat | undefined;
  try {
    msat = satsToMsat(sats);
  } catch {}
  if (msat === undefined || msat < 0n) {
    throw new RangeError(`${name} must be a non-negative amount of sats, got ${String(sats)}`);
  }
  return msat;
}

// Amounts must be bigint msat: a number here would be a unit mistake waiting to happen.
function requireMsat(value: Msat, name: string): Msat {
  if (typeof value !== 'bigint' || value < 0n) {
    throw new RangeError(
      `${name} must be a non-negative bigint of millisatoshis, got ${String(value)}`,
    );
  }
  return value;
}
