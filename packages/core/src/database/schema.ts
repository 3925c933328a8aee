/** Recorded in `PRAGMA user_version`; a file with a higher version is refused, never rewritten. */
export const SCHEMA_VERSION = 1;

// Amounts are msat in INTEGER columns (64 bits: all bitcoin there will ever be is 2.1e18 msat).
export const SCHEMA = `
CREATE TABLE ledger_levels (
  name TEXT PRIMARY KEY,
  limit_msat INTEGER,
  per_request_msat INTEGER,
  per_host_msat INTEGER,
  window_ms INTEGER,
  shared INTEGER NOT NULL DEFAULT 0,
  -- Committed and still counted: within the window, or all time without one.
  spent_msat INTEGER NOT NULL DEFAULT 0,
  reserved_msat INTEGER NOT NULL DEFAULT 0,
  pending_msat INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);

CREATE TABLE ledger_hosts (
  level TEXT NOT NULL,
  host TEXT NOT NULL,
  spent_msat INTEGER NOT NULL DEFAULT 0,
  reserved_msat INTEGER NOT NULL DEFAULT 0,
  pending_msat INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (level, host)
) WITHOUT ROWID;

CREATE TABLE ledger_reservations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  levels TEXT NOT NULL, -- JSON array of level names
  host TEXT NOT NULL,
  amount_msat INTEGER NOT NULL,
  max_fee_msat INTEGER NOT NULL,
  spent_msat INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL CHECK (state IN ('reserved', 'unknown', 'committed', 'released')),
  payment_hash TEXT,
  description TEXT,
  reserved_at INTEGER NOT NULL,
  settled_at INTEGER,
  -- pid@hostname of the process that reserved it, to tell a dead owner's reservation.
  owner TEXT
);
CREATE INDEX ledger_reservations_open ON ledger_reservations (state)
  WHERE state IN ('reserved', 'unknown');
CREATE INDEX ledger_reservations_hash ON ledger_reservations (payment_hash);

-- Committed payments still inside a windowed level's window; dropped (and subtracted from the
-- level's totals) once older than the window.
CREATE TABLE ledger_window (
  level TEXT NOT NULL,
  reservation_id INTEGER NOT NULL,
  host TEXT NOT NULL,
  at INTEGER NOT NULL,
  spent_msat INTEGER NOT NULL,
  PRIMARY KEY (level, reservation_id)
) WITHOUT ROWID;
CREATE INDEX ledger_window_at ON ledger_window (level, at);

CREATE TABLE tokens (
  key TEXT PRIMARY KEY,
  origin TEXT NOT NULL,
  scope TEXT NOT NULL,
  method TEXT,
  scheme TEXT NOT NULL,
  macaroon TEXT NOT NULL,
  preimage TEXT,
  payment_hash TEXT NOT NULL,
  invoice TEXT NOT NULL,
  -- Decimal text: a token records what an invoice said, however large.
  amount_msat TEXT NOT NULL,
  fee_msat TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'paid')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER
);
CREATE INDEX tokens_origin_scope ON tokens (origin, scope);

-- Resources and origins that answered 402 again after being paid (see PaymentLoop).
CREATE TABLE payment_loops (
  key TEXT PRIMARY KEY,
  origin TEXT NOT NULL,
  scope TEXT,
  method TEXT,
  count INTEGER NOT NULL,
  amount_msat TEXT NOT NULL,
  payment_hash TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL
);
CREATE INDEX payment_loops_origin ON payment_loops (origin);

CREATE TABLE spend_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  url TEXT NOT NULL,
  amount_msat INTEGER NOT NULL,
  fee_msat INTEGER NOT NULL,
  payment_hash TEXT NOT NULL,
  outcome TEXT NOT NULL,
  description TEXT
);

-- One-time imports done (e.g. the old tokens.json), so they are never repeated.
CREATE TABLE imports (
  source TEXT PRIMARY KEY,
  imported_at INTEGER NOT NULL,
  summary TEXT NOT NULL
);
`;
