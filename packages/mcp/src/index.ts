export {
  DEFAULT_BUDGET_PER_SESSION_SATS,
  DEFAULT_HTTP_PORT,
  MCP_SERVER_USAGE,
  McpConfigError,
  type McpHttpConfig,
  type McpServerConfig,
  MIN_AUTH_TOKEN_LENGTH,
  parseMcpConfig,
} from './config.js';
export {
  isDatabaseUrl,
  migrateDatabaseUrl,
  openDatabaseUrl,
  type SharedDatabase,
} from './database-url.js';
export {
  createL402McpServer,
  type L402McpServerOptions,
  MCP_SERVER_NAME,
  MCP_SERVER_VERSION,
} from './create-server.js';
export {
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_IDLE_TIMEOUT_MS,
  type McpHttpServer,
  type McpHttpServerOptions,
  startMcpHttpServer,
} from './http-server.js';
export { type RunMcpServerIo, type RunningMcpServer, runMcpServer } from './run-server.js';
