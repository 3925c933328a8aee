import { L402Error } from '@l402kit/core';
import { McpConfigError } from './config.js';
import { runMcpServer } from './run-server.js';

// The l402kit-mcp executable. stdout carries the protocol, so everything else goes to stderr.
try {
  const running = await runMcpServer(process.argv.slice(2), process.env);
  const stop = () => {
    running.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // A stdio client that goes away closes stdin: nothing is left to serve.
  if (running.url === undefined) process.stdin.once('end', stop);
} catch (error) {
  // Config and wallet errors are written to be shown; anything else only by its class name.
  const known = error instanceof McpConfigError || error instanceof L402Error;
  const message = known
    ? (error as Error).message
    : `${(error as Error)?.name ?? 'Error'} while starting`;
  process.stderr.write(`l402kit-mcp: ${message}\n`);
  process.exit(1);
}
