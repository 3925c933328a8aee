// A real l402kit MCP server process over stdio, with a real MCP client connected to it; its
// stderr is collected for assertions.
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  type CallToolResult,
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface McpStdioServer {
  client: Client;
  pid: number;
  /** What the server wrote to stderr so far. */
  logs(): string;
}

export interface McpStdioServerOptions {
  /** A built binary to run (as `npx @l402kit/mcp` does); default: the sources through tsx. */
  binary?: string;
  /** The client's person, asked through MCP elicitation; without it the client cannot ask. */
  elicit?: (request: ElicitRequest['params']) => Promise<ElicitResult>;
}

/** Starts `l402kit-mcp` with only PATH and `env` in its environment. Close its client when done. */
export async function startMcpStdioServer(
  env: Record<string, string>,
  options: McpStdioServerOptions = {},
): Promise<McpStdioServer> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: options.binary
      ? [options.binary]
      : ['--conditions=@l402kit/source', '--import', 'tsx', 'packages/mcp/src/bin.ts'],
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let logs = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    logs += chunk.toString('utf8');
  });
  const { elicit } = options;
  const client = new Client(
    { name: 'test-agent', version: '1.0.0' },
    elicit ? { capabilities: { elicitation: {} } } : {},
  );
  if (elicit) client.setRequestHandler(ElicitRequestSchema, (request) => elicit(request.params));
  await client.connect(transport);
  return { client, pid: transport.pid!, logs: () => logs };
}

/** Calls a tool and returns the result's text and whether it is an error. */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
  return { text, isError: result.isError === true };
}

/** Calls `l402_fetch` and returns the result's text and whether it is an error. */
export function fetchTool(client: Client, url: string) {
  return callTool(client, 'l402_fetch', { url });
}
