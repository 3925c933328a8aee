export {
  createPool,
  describeDatabaseUrl,
  type PostgresOptions,
  type PostgresTarget,
} from './connection.js';
export { createPostgresLedger, type PostgresLedgerOptions } from './postgres-ledger.js';
export {
  createPostgresSpendLog,
  type PostgresSpendLogOptions,
} from './postgres-spend-log.js';
export {
  openPostgresState,
  type PostgresState,
  type PostgresStateOptions,
} from './postgres-state.js';
export { type MigrateResult, migrate, SCHEMA_VERSION } from './schema.js';
export { PostgresTokenStore, type PostgresTokenStoreOptions } from './postgres-token-store.js';
