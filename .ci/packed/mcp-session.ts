// An MCP client session over stdio with `npx l402kit-mcp`, paying the sandbox's research API
// with the sandbox's wallet (L402KIT_WALLET and RESEARCH_API_URL come from `l402kit sandbox`).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const api = process.env.RESEARCH_API_URL;
if (!api) throw new Error('RESEARCH_API_URL is not set');
const transport = new StdioClientTransport({
  command: 'npx',
  args: ['l402kit-mcp'],
  env: { ...(process.env as Record<string, string>), L402KIT_BUDGET_SATS: '50' },
  stderr: 'inherit',
});
const client = new Client({ name: 'packed-install', version: '1.0.0' });
await client.connect(transport);
const { tools } = await client.listTools();
const names = tools.map((tool) => tool.name).sort();
if (!names.includes('l402_fetch') || !names.includes('budget_status')) {
  throw new Error(`l402kit-mcp lists ${names.join(', ')}`);
}
const result = await client.callTool({
  name: 'l402_fetch',
  arguments: { url: `${api}/v1/articles/lightning-basics-brief` },
});
const text = JSON.stringify(result.content);
if (result.isError || !text.includes('Lightning is a network of payment channels')) {
  throw new Error(`l402_fetch through l402kit-mcp: ${text}`);
}
console.log(`mcp: l402kit-mcp over stdio lists ${names.length} tools and bought an article`);
await client.close();
