import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { homedir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';
import { readUntil, runProcess, startProcess, temporaryHome } from './test-support.js';

let child: ChildProcessWithoutNullStreams | undefined;
let home: Awaited<ReturnType<typeof temporaryHome>> | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await home?.cleanup();
  child = home = undefined;
});

function start(argv: string[], env: Record<string, string> = {}) {
  const started = startProcess(argv, env);
  child = started.child;
  return started;
}

describe('l402kit sandbox', () => {
  it('starts the paid API and a funded HTTP wallet that `l402kit fetch` in another process pays with', async () => {
    const sandbox = start([
      'sandbox',
      '--port',
      '0',
      '--wallet-port',
      '0',
      '--balance-sats',
      '500',
    ]);
    const printed = (await readUntil(sandbox.lines, /l402kit fetch '/)).join('\n');
    const walletUrl = /export L402KIT_WALLET='([^']+)'/.exec(printed)![1]!;
    const apiUrl = /research API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(printed)![1]!;
    expect(walletUrl).toMatch(/^lnbits:\/\/[0-9a-f]+@127\.0\.0\.1:\d+\?tls=false$/);

    home = await temporaryHome();
    const env = { ...home.env, L402KIT_WALLET: walletUrl, L402KIT_ALLOW_PRIVATE_NETWORK: '1' };
    const bought = await runProcess(['fetch', `${apiUrl}/v1/articles/units-brief`], env);
    expect(bought.code).toBe(EXIT_CODES.ok);
    expect(JSON.parse(bought.stdout).title).toBe('Bitcoin, satoshis and millisatoshis');
    const spend = await runProcess(['spend'], env);
    expect(spend.stdout).toContain('Total paid: 2.104 sats');

    sandbox.child.kill('SIGTERM');
    expect(await sandbox.exited).toBe(0);
  });
});

describe('l402kit mcp', () => {
  it('serves the l402kit tools over stdio', async () => {
    const server = start(['mcp', '--wallet', 'sandbox:', '--budget-sats', '50']);
    const send = (message: object) => server.child.stdin.write(`${JSON.stringify(message)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'test', version: '0' },
      },
    });
    const initialized = JSON.parse((await readUntil(server.lines, /"id":1/)).at(-1)!);
    expect(initialized.result.serverInfo.name).toBeTruthy();
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const listed = JSON.parse((await readUntil(server.lines, /"id":2/)).at(-1)!);
    expect(listed.result.tools.map((tool: { name: string }) => tool.name)).toContain('l402_fetch');
    // With no L402KIT_DB the default database is under HOME: a test's own, never the machine's.
    const said = (await readUntil(server.errorLines, /spend log in /)).at(-1)!;
    const database = /spend log in ([^;]+)/.exec(said)![1]!;
    expect(database).toMatch(/l402kit-cli-home-[^/]+\/\.l402kit\/l402kit\.db$/);
    expect(database.startsWith(homedir())).toBe(false);
    server.child.stdin.end();
    expect(await server.exited).toBe(0);
  });

  it('prints its usage with --help', async () => {
    const help = await runProcess(['mcp', '--help'], {});
    expect(help.code).toBe(EXIT_CODES.ok);
    expect(help.stdout).toContain('--budget-sats');
  });
});
