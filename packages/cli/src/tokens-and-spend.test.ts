import { readFile } from 'node:fs/promises';
import { FileTokenStore } from '@l402kit/core';
import { type ResearchSandbox, startResearchSandbox } from '@l402kit/research-api';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';
import { runInProcess, temporaryHome } from './test-support.js';

let sandbox: ResearchSandbox | undefined;
let home: Awaited<ReturnType<typeof temporaryHome>> | undefined;
afterEach(async () => {
  await Promise.all([sandbox?.close(), home?.cleanup()]);
  sandbox = home = undefined;
});

/** Buys a search pass and one article through `l402kit fetch`, as a user would. */
async function buySome() {
  sandbox = await startResearchSandbox({ balanceSats: 1_000, serveWallet: true });
  home = await temporaryHome();
  const env = {
    ...home.env,
    L402KIT_WALLET: sandbox.walletServer!.walletUrl,
    L402KIT_ALLOW_PRIVATE_NETWORK: '1',
  };
  for (const path of ['/v1/search?q=fees', '/v1/articles/routing-fees-explainer']) {
    expect((await runInProcess(['fetch', `${sandbox.api.url}${path}`], env)).code).toBe(0);
  }
  return { sandbox, env, tokenFile: home.env.L402KIT_TOKEN_FILE };
}

describe('l402kit tokens', () => {
  it('lists and shows tokens without ever printing a macaroon or preimage', async () => {
    const { sandbox, env, tokenFile } = await buySome();
    const stored = await new FileTokenStore(tokenFile).list();
    expect(stored).toHaveLength(2);
    const secrets = stored.flatMap((token) => [token.macaroon, token.preimage!]);
    const outputs = [
      await runInProcess(['tokens', 'list'], env),
      await runInProcess(['tokens', 'list', '--json'], env),
      await runInProcess(['tokens', 'show', '2'], env),
      await runInProcess(['tokens', 'show', stored[0]!.paymentHash.slice(0, 10), '--json'], env),
    ];
    for (const output of outputs) {
      expect(output.code).toBe(EXIT_CODES.ok);
      for (const secret of secrets) expect(output.stdout).not.toContain(secret);
    }
    expect(outputs[0]!.stdout).toContain(`${sandbox.api.url}/v1/articles/routing-fees-explainer`);
    expect(outputs[0]!.stdout).toMatch(/GET\s+paid\s+7\.114 sats/);
    const listed = JSON.parse(outputs[1]!.stdout) as { macaroon: string; preimage: string }[];
    expect(listed.map((token) => [token.macaroon, token.preimage])).toEqual([
      ['[redacted]', '[redacted]'],
      ['[redacted]', '[redacted]'],
    ]);
    expect(outputs[2]!.stdout).toContain('routing fee:  0.114 sats');
    expect(outputs[2]!.stdout).toContain('macaroon:     [redacted]');
  });

  it('remove forgets one token; the next fetch pays again', async () => {
    const { sandbox, env, tokenFile } = await buySome();
    const removed = await runInProcess(['tokens', 'remove', '2'], env);
    expect(removed.stdout).toContain('/v1/articles/routing-fees-explainer');
    expect(await new FileTokenStore(tokenFile).list()).toHaveLength(1);
    const before = sandbox.buyer.balanceMsat;
    await runInProcess(['fetch', `${sandbox.api.url}/v1/articles/routing-fees-explainer`], env);
    expect(before - sandbox.buyer.balanceMsat).toBe(7_114n);
    expect((await runInProcess(['tokens', 'show', 'nope'], env)).code).toBe(EXIT_CODES.usage);
  });

  it('clear refuses while a payment is pending unless --force', async () => {
    const { env, tokenFile } = await buySome();
    const store = new FileTokenStore(tokenFile);
    const [paid] = await store.list();
    const { preimage: _preimage, ...rest } = paid!;
    await store.put({ ...rest, key: `${paid!.key}-pending`, state: 'pending' });

    const refused = await runInProcess(['tokens', 'clear'], env);
    expect(refused.code).toBe(EXIT_CODES.refused);
    expect(refused.stderr).toContain('payment in flight');
    expect(await store.list()).toHaveLength(3);
    const forced = await runInProcess(['tokens', 'clear', '--force'], env);
    expect(forced.stdout).toContain('Removed 3 token(s)');
    expect(await store.list()).toHaveLength(0);
    expect((await runInProcess(['tokens', 'list'], env)).stdout).toContain('No tokens');
  });
});

describe('l402kit tokens loops (issue 11 item 9)', () => {
  it('lists the resources refused after a payment loop, and clears one origin or all', async () => {
    home = await temporaryHome();
    const store = new FileTokenStore(home.env.L402KIT_TOKEN_FILE);
    const record = (origin: string, scope?: string) =>
      store.recordPaymentLoop({
        key: scope === undefined ? origin : `${origin} GET ${scope}`,
        origin,
        ...(scope === undefined ? {} : { scope, method: 'GET' }),
        amountMsat: 10_000n,
        paymentHash: 'ab'.repeat(32),
        at: Date.UTC(2030, 0, 1),
      });
    await record('https://shop.test', '/report');
    await record('https://shop.test');
    await record('https://other.test', '/x');

    const listed = await runInProcess(['tokens', 'loops'], home.env);
    expect(listed.code).toBe(EXIT_CODES.ok);
    expect(listed.stdout).toMatch(/https:\/\/shop\.test\/report\s+GET\s+1\s+10 sats\s+2030-01-01/);
    expect(listed.stdout).toContain('https://shop.test (whole origin)');
    const json = JSON.parse((await runInProcess(['tokens', 'loops', '--json'], home.env)).stdout);
    expect(json).toHaveLength(3);

    const cleared = await runInProcess(
      ['tokens', 'loops', 'clear', 'https://shop.test/report'],
      home.env,
    );
    expect(cleared.stdout).toContain('Removed 2 payment loop record(s)');
    expect((await store.listPaymentLoops()).map((loop) => loop.origin)).toEqual([
      'https://other.test',
    ]);
    expect((await runInProcess(['tokens', 'loops', 'clear'], home.env)).stdout).toContain(
      'Removed 1',
    );
    expect((await runInProcess(['tokens', 'loops'], home.env)).stdout).toContain(
      'No payment loops',
    );
  });
});

describe('l402kit spend', () => {
  it('shows each payment and the total actually paid, fees included', async () => {
    const { env } = await buySome();
    const table = await runInProcess(['spend'], env);
    expect(table.code).toBe(EXIT_CODES.ok);
    expect(table.stdout).toMatch(
      /paid\s+2 sats\s+0\.104 sats\s+http:\/\/127\.0\.0\.1:\d+\/v1\/search/,
    );
    expect(table.stdout).toContain(
      'Total paid: 9.218 sats (0.218 sats in routing fees) in 2 payment(s)',
    );

    const json = await runInProcess(['spend', '--json', '--limit', '1'], env);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toMatchObject([{ amountMsat: '7000', feeMsat: '114', outcome: 'paid' }]);
    const log = await readFile(env.L402KIT_SPEND_LOG, 'utf8');
    expect(log.trim().split('\n')).toHaveLength(2);
    expect((await runInProcess(['spend', '--since', 'yesterday-ish'], env)).code).toBe(
      EXIT_CODES.usage,
    );
  });

  it('says so when nothing was spent', async () => {
    home = await temporaryHome();
    const empty = await runInProcess(['spend'], home.env);
    expect(empty.stdout).toContain('No payments');
  });
});

describe('l402kit', () => {
  it('prints usage, and exits 2 for an unknown command', async () => {
    expect((await runInProcess(['--help'], {})).stdout).toContain('fetch <url>');
    const unknown = await runInProcess(['pay-everything'], {});
    expect(unknown.code).toBe(EXIT_CODES.usage);
    expect((await runInProcess(['fetch', '--help'], {})).stdout).toContain('Exit codes:');
  });
});
