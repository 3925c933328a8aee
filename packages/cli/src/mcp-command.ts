import type { CliIo } from './cli-io.js';
import { EXIT_CODES } from './exit-codes.js';

/**
 * `l402kit mcp`: the l402kit MCP server (same flags as `l402kit-mcp`). Serves until the client
 * closes stdin or a signal arrives; stdout carries the protocol.
 */
export async function mcpCommand(argv: string[], io: CliIo): Promise<number> {
  const { runMcpServer } = await import('@l402kit/mcp');
  const running = await runMcpServer(argv, io.env, {
    ...(io.stdin === undefined ? {} : { stdin: io.stdin }),
    stdout: io.stdout as NodeJS.WritableStream,
    stderr: io.stderr,
  });
  if (argv.includes('--help') || argv.includes('-h')) return EXIT_CODES.ok;
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // A stdio client that goes away closes stdin: nothing is left to serve.
    if (running.url === undefined) (io.stdin ?? process.stdin).once('end', stop);
  });
  await running.close();
  return EXIT_CODES.ok;
}
