import type { PaymentLoop } from './payment-loops.js';
import { protectToken, type StoredToken } from './token-store.js';

// The tokens and payment_loops tables have the same columns in SQLite and PostgreSQL; each
// driver hands back its own types for integers (bigint, number or string), read with Number().
type Integer = bigint | number | string;

/** A row of the `tokens` table, as an SQL driver returns it. */
export interface TokenRow {
  key: string;
  origin: string;
  scope: string;
  method: string | null;
  scheme: 'L402' | 'LSAT';
  macaroon: string;
  preimage: string | null;
  payment_hash: string;
  invoice: string;
  // Decimal text: a token records what an invoice said, however large.
  amount_msat: string;
  fee_msat: string;
  state: 'pending' | 'paid';
  created_at: Integer;
  expires_at: Integer | null;
}

/** A row of the `payment_loops` table, as an SQL driver returns it. */
export interface PaymentLoopRow {
  key: string;
  origin: string;
  scope: string | null;
  method: string | null;
  count: Integer;
  amount_msat: string;
  payment_hash: string;
  first_at: Integer;
  last_at: Integer;
}

/** The `tokens` columns, in the order `tokenRowValues` gives their values. */
export const TOKEN_COLUMNS = [
  'key',
  'origin',
  'scope',
  'method',
  'scheme',
  'macaroon',
  'preimage',
  'payment_hash',
  'invoice',
  'amount_msat',
  'fee_msat',
  'state',
  'created_at',
  'expires_at',
] as const;

/** The `payment_loops` columns, in the order `paymentLoopRowValues` gives their values. */
export const PAYMENT_LOOP_COLUMNS = [
  'key',
  'origin',
  'scope',
  'method',
  'count',
  'amount_msat',
  'payment_hash',
  'first_at',
  'last_at',
] as const;

/** A token as its row's values, in `TOKEN_COLUMNS` order. */
export function tokenRowValues(token: StoredToken): (string | number | null)[] {
  return [
    token.key,
    token.origin,
    token.scope,
    token.method ?? null,
    token.scheme,
    token.macaroon,
    token.preimage ?? null,
    token.paymentHash,
    token.invoice,
    token.amountMsat.toString(),
    token.feeMsat.toString(),
    token.state,
    Math.trunc(token.createdAt),
    token.expiresAt === undefined ? null : Math.trunc(token.expiresAt),
  ];
}

/** A payment-loop record as its row's values, in `PAYMENT_LOOP_COLUMNS` order. */
export function paymentLoopRowValues(loop: PaymentLoop): (string | number | null)[] {
  return [
    loop.key,
    loop.origin,
    loop.scope ?? null,
    loop.method ?? null,
    loop.count,
    loop.amountMsat.toString(),
    loop.paymentHash,
    Math.trunc(loop.firstAt),
    Math.trunc(loop.lastAt),
  ];
}

/** The token a row holds: frozen and redacted when printed, as every store hands tokens out. */
export function tokenFromRow(row: TokenRow): StoredToken {
  return protectToken({
    key: row.key,
    origin: row.origin,
    scope: row.scope,
    // Optional fields are left out rather than set to undefined, as the other stores do.
    ...(row.method === null ? {} : { method: row.method }),
    scheme: row.scheme,
    macaroon: row.macaroon,
    ...(row.preimage === null ? {} : { preimage: row.preimage }),
    paymentHash: row.payment_hash,
    invoice: row.invoice,
    amountMsat: BigInt(row.amount_msat),
    feeMsat: BigInt(row.fee_msat),
    state: row.state,
    createdAt: Number(row.created_at),
    ...(row.expires_at === null ? {} : { expiresAt: Number(row.expires_at) }),
  });
}

/** The payment-loop record a row holds, frozen. */
export function paymentLoopFromRow(row: PaymentLoopRow): PaymentLoop {
  return Object.freeze({
    key: row.key,
    origin: row.origin,
    ...(row.scope === null ? {} : { scope: row.scope }),
    ...(row.method === null ? {} : { method: row.method }),
    count: Number(row.count),
    amountMsat: BigInt(row.amount_msat),
    paymentHash: row.payment_hash,
    firstAt: Number(row.first_at),
    lastAt: Number(row.last_at),
  });
}
