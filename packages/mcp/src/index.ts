export {
  createL402McpServer,
  type L402McpServerOptions,
  MCP_SERVER_NAME,
  MCP_SERVER_VERSION,
} from './create-server.js';
