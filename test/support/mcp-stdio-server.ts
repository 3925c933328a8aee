// A real l402kit MCP server process over stdio, started from the sources, with a real MCP
// client connected to it; its stderr is collected for assertions.
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface McpStdioServer {
  client: Client;
  pid: number;
  /** What the server wrote to stderr so far. */
  logs(): string;
}

/** Starts `l402kit-mcp` with only PATH and `env` in its environment. Close its client when done. */
export async function startMcpStdioServer(env: Record<string, string>): Promise<McpStdioServer> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--conditions=@l402kit/source', '--import', 'tsx', 'packages/mcp/src/bin.ts'],
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let logs = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    logs += chunk.toString('utf8');
  });
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(transport);
  return { client, pid: transport.pid!, logs: () => logs };
}

/** Calls `l402_fetch` and returns the result's text and whether it is an error. */
export async function fetchTool(client: Client, url: string) {
  const result = (await client.callTool({
    name: 'l402_fetch',
    arguments: { url },
  })) as CallToolResult;
  const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
  return { text, isError: result.isError === true };
}
