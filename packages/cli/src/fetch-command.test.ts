import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ResearchSandbox, startResearchSandbox } from '@l402kit/research-api';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';
import { closedPort, runInProcess, temporaryHome } from './test-support.js';

let sandbox: ResearchSandbox | undefined;
let home: Awaited<ReturnType<typeof temporaryHome>> | undefined;
afterEach(async () => {
  await Promise.all([sandbox?.close(), home?.cleanup()]);
  sandbox = home = undefined;
});

async function setup(balanceSats = 1_000) {
  sandbox = await startResearchSandbox({ balanceSats, serveWallet: true });
  home = await temporaryHome();
  const env = {
    ...home.env,
    L402KIT_WALLET: sandbox.walletServer!.walletUrl,
    L402KIT_ALLOW_PRIVATE_NETWORK: '1',
  };
  return { sandbox, env, home };
}

describe('l402kit fetch', () => {
  it('--dry-run quotes the price and the invoice description without paying', async () => {
    const { sandbox, env } = await setup();
    const result = await runInProcess(
      ['fetch', '--dry-run', `${sandbox.api.url}/v1/datasets/l402-endpoint-census`],
      env,
    );
    expect(result.code).toBe(EXIT_CODES.ok);
    // The fee limit, 1 sat + 1 %, is the most the routing fee may add.
    expect(result.stdout).toContain('500 sats (plus at most 6 sats routing fee)');
    expect(result.stdout).toContain('description: Dataset "L402 endpoint census');
    expect(result.stdout).toContain('above --max-sats 100');
    expect(sandbox.buyer.balanceMsat).toBe(1_000_000n);
  });

  it('-o writes the body to a file; -i adds the status and headers', async () => {
    const { sandbox, env, home } = await setup();
    const file = join(home.home, 'search.json');
    const result = await runInProcess(
      ['fetch', '-i', '-o', file, `${sandbox.api.url}/v1/search?q=macaroons`],
      env,
    );
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.stdout).toMatch(/^HTTP 200 OK\n/);
    expect(result.stdout).toContain('content-type: application/json');
    expect(JSON.parse(await readFile(file, 'utf8')).query).toBe('macaroons');
  });

  it('exits 5 when the wallet cannot pay, and nothing moves', async () => {
    const { sandbox, env } = await setup(5);
    const result = await runInProcess(['fetch', `${sandbox.api.url}/v1/articles/l402-deep`], env);
    expect(result.code).toBe(EXIT_CODES.paymentFailed);
    expect(result.stderr).toContain('Nothing was paid.');
    expect(sandbox.buyer.balanceMsat).toBe(5_000n);
  });

  it('exits 7 on a network error, 22 on an HTTP error with --fail, 0 without', async () => {
    const { sandbox, env } = await setup();
    const down = await runInProcess(['fetch', `http://127.0.0.1:${await closedPort()}/`], env);
    expect(down.code).toBe(EXIT_CODES.networkError);
    expect(down.stderr).toContain('REQUEST_FAILED');
    const missing = `${sandbox.api.url}/v1/articles/none`;
    expect((await runInProcess(['fetch', '--fail', missing], env)).code).toBe(EXIT_CODES.httpError);
    expect((await runInProcess(['fetch', missing], env)).code).toBe(EXIT_CODES.ok);
  });

  it('exits 4 when the policy refuses a private address it was not allowed', async () => {
    const { sandbox, env } = await setup();
    const result = await runInProcess(['fetch', `${sandbox.api.url}/v1/search?q=x`], {
      ...env,
      L402KIT_ALLOW_PRIVATE_NETWORK: undefined,
    });
    expect(result.code).toBe(EXIT_CODES.refused);
    expect(result.stderr).toContain('POLICY_DENIED');
  });

  it('exits 2 on usage errors and 9 on a bad wallet URL, without echoing secrets', async () => {
    const { env } = await setup();
    expect((await runInProcess(['fetch'], env)).code).toBe(EXIT_CODES.usage);
    expect((await runInProcess(['fetch', 'ftp://x'], env)).code).toBe(EXIT_CODES.usage);
    const unknown = await runInProcess(['fetch', '--secret=abc123', 'http://x'], env);
    expect(unknown.code).toBe(EXIT_CODES.usage);
    expect(unknown.stderr).not.toContain('abc123');
    const noWallet = await runInProcess(['fetch', 'http://127.0.0.1/'], {
      ...env,
      L402KIT_WALLET: undefined,
    });
    expect(noWallet.code).toBe(EXIT_CODES.usage);
    expect(noWallet.stderr).toContain('l402kit sandbox');
    const badWallet = await runInProcess(['fetch', 'http://127.0.0.1/'], {
      ...env,
      L402KIT_WALLET: 'lnbits://sekrit-key@',
    });
    expect(badWallet.code).toBe(EXIT_CODES.config);
    expect(badWallet.stderr).not.toContain('sekrit-key');
  });
});
