import { formatMsat, type Msat, satsToMsat } from '../amount.js';
import { budgetHost } from '../canonical-host.js';
import { BudgetExceededError } from '../errors.js';

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
  /** Shown in messages and status, e.g. "daily" or "run 42". */
  name?: string;
  /** Every reservation must also fit this budget and all of its ancestors. */
  parent?: Budget;
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
}

export type ReservationState = 'reserved' | 'unknown' | 'committed' | 'released';

/**
 * Money set aside for one payment at every budget level. Settle it exactly once with
 * `commit` (paid) or `release` (surely not paid); `markUnknown` keeps it counted while the
 * outcome is not known yet.
 */
export interface Reservation {
  readonly id: number;
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
  /** Committed payments, fees included. */
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

interface HostBooks {
  spent: Msat;
  reserved: Msat;
  pending: Msat;
}

// The internal side of a budget level, shared only with reservations in this module.
interface Level {
  name: string;
  limit: Msat | undefined;
  perRequest: Msat | undefined;
  perHost: Msat | undefined;
  spent: Msat;
  reserved: Msat;
  pending: Msat;
  hosts: Map<string, HostBooks>;
  parent: Level | undefined;
}

const levels = new WeakMap<Budget, Level>();
let nextReservationId = 1;

export function createBudget(options: BudgetOptions = {}): Budget {
  const parentLevel = options.parent === undefined ? undefined : levels.get(options.parent);
  if (options.parent !== undefined && parentLevel === undefined) {
    throw new RangeError('parent must be a budget made by createBudget');
  }
  const level: Level = {
    name:
      options.name ?? (options.parent === undefined ? 'budget' : `${options.parent.name}/child`),
    limit: smallerLimit(toLimit(options.maxSats, 'maxSats'), checkMsat(options.maxMsat, 'maxMsat')),
    perRequest: smallerLimit(
      toLimit(options.maxSatsPerRequest, 'maxSatsPerRequest'),
      checkMsat(options.maxMsatPerRequest, 'maxMsatPerRequest'),
    ),
    perHost: smallerLimit(
      toLimit(options.maxSatsPerHost, 'maxSatsPerHost'),
      checkMsat(options.maxMsatPerHost, 'maxMsatPerHost'),
    ),
    spent: 0n,
    reserved: 0n,
    pending: 0n,
    hosts: new Map(),
    parent: parentLevel,
  };

  const budget: Budget = {
    name: level.name,
    parent: options.parent,
    async reserve(request) {
      const amount = requireMsat(request.amountMsat, 'amountMsat');
      const maxFee = requireMsat(request.maxFeeMsat, 'maxFeeMsat');
      // Every spelling of one host shares its per-host books.
      const host = budgetHost(request.host);
      const need = amount + maxFee;
      const refusal = findRefusal(level, need, host);
      if (refusal !== undefined) {
        throw new BudgetExceededError(describeRefusal(refusal, amount, maxFee, host), {
          paid: false,
          url: request.url,
        });
      }
      // Synchronous from check to update, so concurrent callers cannot both pass the check.
      for (const each of chain(level)) {
        each.reserved += need;
        hostBooks(each, host).reserved += need;
      }
      return createReservation(budget, level, host, request.description, amount, maxFee);
    },
    async canAfford(amountMsat, maxFeeMsat, host) {
      const need = requireMsat(amountMsat, 'amountMsat') + requireMsat(maxFeeMsat, 'maxFeeMsat');
      return findRefusal(level, need, budgetHost(host)) === undefined;
    },
    async status() {
      return statusOf(level, budget.parent);
    },
    child(childOptions = {}) {
      return createBudget({ ...childOptions, parent: budget });
    },
  };
  levels.set(budget, level);
  return Object.freeze(budget);
}

/** A few sentences a model or a person can read: what is left, the caps, and the parents. */
export async function describeBudget(budget: Budget | BudgetStatus): Promise<string> {
  const status = isBudget(budget) ? await budget.status() : budget;
  const lines: string[] = [];
  let current: BudgetStatus | undefined = status;
  while (current !== undefined) {
    const parts: string[] = [];
    if (current.limitMsat === undefined) {
      parts.push(
        `Budget "${current.name}": no total limit; spent ${formatMsat(current.spentMsat)}`,
      );
    } else {
      parts.push(
        `Budget "${current.name}": ${formatMsat(current.remainingMsat ?? 0n)} left of ${formatMsat(current.limitMsat)}; spent ${formatMsat(current.spentMsat)}`,
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

interface Refusal {
  level: Level;
  rule: 'per request' | 'per host' | 'total';
  limit: Msat;
  spent: Msat;
  reserved: Msat;
  pending: Msat;
}

function findRefusal(start: Level, need: Msat, host: string): Refusal | undefined {
  for (const level of chain(start)) {
    if (level.perRequest !== undefined && need > level.perRequest) {
      return {
        level,
        rule: 'per request',
        limit: level.perRequest,
        spent: 0n,
        reserved: 0n,
        pending: 0n,
      };
    }
    if (level.perHost !== undefined) {
      const books = level.hosts.get(host) ?? { spent: 0n, reserved: 0n, pending: 0n };
      if (books.spent + books.reserved + books.pending + need > level.perHost) {
        return { level, rule: 'per host', limit: level.perHost, ...books };
      }
    }
    if (
      level.limit !== undefined &&
      level.spent + level.reserved + level.pending + need > level.limit
    ) {
      return {
        level,
        rule: 'total',
        limit: level.limit,
        spent: level.spent,
        reserved: level.reserved,
        pending: level.pending,
      };
    }
  }
  return undefined;
}

function describeRefusal(refusal: Refusal, amount: Msat, maxFee: Msat, host: string): string {
  const requested = `requested ${formatMsat(amount + maxFee)} (${formatMsat(amount)} + up to ${formatMsat(maxFee)} routing fee)`;
  const name = `budget "${refusal.level.name}"`;
  if (refusal.rule === 'per request') {
    return `Payment refused by ${name}: per-request limit ${formatMsat(refusal.limit)}, ${requested}. Nothing was paid.`;
  }
  const books = `spent ${formatMsat(refusal.spent)}, reserved ${formatMsat(refusal.reserved)}, pending ${formatMsat(refusal.pending)}`;
  if (refusal.rule === 'per host') {
    return `Payment refused by ${name}: per-host limit ${formatMsat(refusal.limit)} for ${host}, ${books}, ${requested}. Nothing was paid.`;
  }
  return `Payment refused by ${name}: limit ${formatMsat(refusal.limit)}, ${books}, ${requested}. Nothing was paid.`;
}

function createReservation(
  budget: Budget,
  level: Level,
  host: string,
  description: string | undefined,
  amount: Msat,
  maxFee: Msat,
): Reservation {
  const need = amount + maxFee;
  let state: ReservationState = 'reserved';
  let spent = 0n;

  // Moves `need` out of the bucket the reservation is in now, at every level.
  const leaveCurrentBucket = () => {
    for (const each of chain(level)) {
      const books = hostBooks(each, host);
      if (state === 'reserved') {
        each.reserved -= need;
        books.reserved -= need;
      } else if (state === 'unknown') {
        each.pending -= need;
        books.pending -= need;
      }
    }
  };

  return {
    id: nextReservationId++,
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
      leaveCurrentBucket();
      spent = amount + fee;
      for (const each of chain(level)) {
        each.spent += spent;
        hostBooks(each, host).spent += spent;
      }
      state = 'committed';
      return true;
    },
    async release() {
      if (state === 'committed' || state === 'released') return false;
      leaveCurrentBucket();
      state = 'released';
      return true;
    },
    async markUnknown() {
      if (state !== 'reserved') return false;
      for (const each of chain(level)) {
        const books = hostBooks(each, host);
        each.reserved -= need;
        books.reserved -= need;
        each.pending += need;
        books.pending += need;
      }
      state = 'unknown';
      return true;
    },
  };
}

async function statusOf(level: Level, parent: Budget | undefined): Promise<BudgetStatus> {
  const status: BudgetStatus = {
    name: level.name,
    spentMsat: level.spent,
    reservedMsat: level.reserved,
    pendingMsat: level.pending,
    perHost: Object.fromEntries(
      [...level.hosts]
        .filter(([, books]) => books.spent > 0n)
        .map(([host, books]) => [host, books.spent]),
    ),
  };
  if (level.limit !== undefined) {
    status.limitMsat = level.limit;
    status.remainingMsat = positive(level.limit - level.spent - level.reserved - level.pending);
  }
  if (level.perRequest !== undefined) status.perRequestLimitMsat = level.perRequest;
  if (level.perHost !== undefined) status.perHostLimitMsat = level.perHost;
  let available: Msat | undefined;
  for (const each of chain(level)) {
    const caps = [each.perRequest];
    if (each.limit !== undefined)
      caps.push(positive(each.limit - each.spent - each.reserved - each.pending));
    for (const cap of caps) {
      if (cap !== undefined && (available === undefined || cap < available)) available = cap;
    }
  }
  if (available !== undefined) status.availableMsat = available;
  if (parent !== undefined) status.parent = await parent.status();
  return status;
}

function* chain(level: Level): Generator<Level> {
  for (let current: Level | undefined = level; current !== undefined; current = current.parent) {
    yield current;
  }
}

function hostBooks(level: Level, host: string): HostBooks {
  let books = level.hosts.get(host);
  if (books === undefined) {
    books = { spent: 0n, reserved: 0n, pending: 0n };
    level.hosts.set(host, books);
  }
  return books;
}

function positive(value: Msat): Msat {
  return value > 0n ? value : 0n;
}

function smallerLimit(a: Msat | undefined, b: Msat | undefined): Msat | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
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

function checkMsat(value: Msat | undefined, name: string): Msat | undefined {
  return value === undefined ? undefined : requireMsat(value, name);
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
