import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSpendLog,
  decodeInvoice,
  FileTokenStore,
  parseL402Challenge,
  tokenTarget,
} from '@l402kit/core';
import { type ResearchSandbox, startResearchSandbox } from '@l402kit/research-api';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';
import { runInProcess } from './test-support.js';

const ARTICLE = '/v1/articles/routing-fees-explainer';
let sandbox: ResearchSandbox | undefined;
let home: string | undefined;
afterEach(async () => {
  await sandbox?.close();
  if (home) await rm(home, { recursive: true, force: true });
  sandbox = home = undefined;
});

/** A sandbox and a fresh ~/.l402kit with the database as the store (the default). */
async function setUp() {
  sandbox = await startResearchSandbox({ balanceSats: 1_000, serveWallet: true });
  home = await mkdtemp(join(tmpdir(), 'l402kit-durable-'));
  const env = {
    L402KIT_DB: join(home, 'l402kit.db'),
    L402KIT_TOKEN_FILE: join(home, 'tokens.json'),
    L402KIT_SPEND_LOG: join(home, 'spend.jsonl'),
    L402KIT_WALLET: sandbox.walletServer!.walletUrl,
    L402KIT_ALLOW_PRIVATE_NETWORK: '1',
  };
  return { sandbox, env };
}

const succeeded = (sandbox: ResearchSandbox) =>
  sandbox.network.payments.filter((payment) => payment.state === 'succeeded');

describe('l402kit budget', () => {
  it('sets a daily level that every fetch is charged to, across invocations, and lists it', async () => {
    const { sandbox, env } = await setUp();
    const set = await runInProcess(
      ['budget', 'set', 'daily', '--max-sats', '10', '--window', '24h'],
      env,
    );
    expect(set.code).toBe(EXIT_CODES.ok);
    expect(set.stdout).toMatch(/daily\s+10 sats\s+24h\s+0 sats\s+0 sats\s+10 sats\s+every process/);

    // 7 sats + 0.114 routing fee; the 8.07 sats reserved (fee limit 1 sat + 1 %) fit 10.
    expect((await runInProcess(['fetch', `${sandbox.api.url}${ARTICLE}`], env)).code).toBe(0);
    // A second article would need another 8.07 sats: only 2.886 are left today.
    const refused = await runInProcess(
      ['fetch', `${sandbox.api.url}/v1/articles/lightning-basics-explainer`],
      env,
    );
    expect(refused.code).toBe(EXIT_CODES.overBudget);
    expect(refused.stderr).toMatch(
      /BUDGET_EXCEEDED.*budget "daily": limit 10 sats, spent 7\.114 sats/,
    );
    expect(refused.stderr).toContain('Nothing was paid');
    expect(succeeded(sandbox)).toHaveLength(1);

    const listed = await runInProcess(['budget'], env);
    expect(listed.stdout).toMatch(/daily\s+10 sats\s+24h\s+7\.114 sats\s+0 sats\s+2\.886 sats/);
    const json = JSON.parse((await runInProcess(['budget', 'list', '--json'], env)).stdout);
    expect(json).toEqual([
      expect.objectContaining({
        name: 'daily',
        limitMsat: '10000',
        windowMs: 86_400_000,
        spentMsat: '7114',
        remainingMsat: '2886',
      }),
    ]);
    // Raising the limit keeps what was spent.
    await runInProcess(['budget', 'set', 'daily', '--max-sats', '20', '--window', '24h'], env);
    expect(
      (
        await runInProcess(
          ['fetch', `${sandbox.api.url}/v1/articles/lightning-basics-explainer`],
          env,
        )
      ).code,
    ).toBe(0);
    expect((await runInProcess(['budget'], env)).stdout).toMatch(
      /daily\s+20 sats\s+24h\s+\d+\.\d+ sats/,
    );
  });

  it('refuses bad levels with a usage error and changes nothing', async () => {
    const { env } = await setUp();
    for (const argv of [
      ['budget', 'set', 'daily'],
      ['budget', 'set', 'daily', '--max-sats', '-5'],
      ['budget', 'set', 'daily', '--max-sats', '5', '--window', 'daily'],
      ['budget', 'set', '--max-sats', '5'],
      ['budget', 'remove', 'daily'],
    ]) {
      expect((await runInProcess(argv, env)).code).toBe(EXIT_CODES.usage);
    }
    expect((await runInProcess(['budget'], env)).stdout).toMatch(/No budget levels/);
  });
});

describe('the first start on the database imports the old files once', () => {
  it('imports tokens.json (a pending record included) and spend.jsonl, resolves the pending payment through the wallet and never pays it again', async () => {
    const { sandbox, env } = await setUp();
    // An older l402kit paid for the article but crashed before storing the preimage: its
    // token file holds the payment as pending.
    const url = new URL(`${sandbox.api.url}${ARTICLE}`);
    const challenge = parseL402Challenge((await fetch(url)).headers.get('www-authenticate') ?? '');
    const invoice = decodeInvoice(challenge.invoice);
    const { walletFromUrl } = await import('@l402kit/wallets');
    await walletFromUrl(env.L402KIT_WALLET).payInvoice({
      invoice: challenge.invoice,
      amountMsat: invoice.amountMsat!,
      paymentHash: invoice.paymentHash,
      maxFeeMsat: 10_000n,
      timeoutMs: 5_000,
    });
    await new FileTokenStore(env.L402KIT_TOKEN_FILE).put({
      ...tokenTarget(url, 'GET'),
      scheme: challenge.scheme,
      macaroon: challenge.macaroon,
      paymentHash: invoice.paymentHash,
      invoice: challenge.invoice,
      amountMsat: invoice.amountMsat!,
      feeMsat: 0n,
      state: 'pending',
      createdAt: Date.now() - 3_600_000,
    });
    await createSpendLog(env.L402KIT_SPEND_LOG).append({
      time: new Date().toISOString(),
      url: url.href,
      amountMsat: invoice.amountMsat!,
      feeMsat: 0n,
      paymentHash: invoice.paymentHash,
      outcome: 'unknown',
    });

    const first = await runInProcess(['fetch', url.href], env);
    expect(first.code).toBe(EXIT_CODES.ok);
    expect(first.stderr).toMatch(
      /imported 1 of 1 tokens \(1 pending.*\) from .*tokens\.json into .*l402kit\.db; the old file was left in place/,
    );
    expect(first.stderr).toMatch(/imported 1 spend-log entries from .*spend\.jsonl/);
    expect(first.stderr).toContain('nothing paid');
    // One payment in all: the one the old process made.
    expect(succeeded(sandbox)).toHaveLength(1);

    const again = await runInProcess(['tokens', 'list'], env);
    expect(again.stderr).not.toContain('imported');
    expect(again.stdout).toMatch(/GET\s+paid/);
    const spend = await runInProcess(['spend', '--json'], env);
    expect(
      spend.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).outcome),
    ).toEqual(['unknown', 'resolved-paid']);
    // The old files are still there, untouched by the new store.
    expect(await new FileTokenStore(env.L402KIT_TOKEN_FILE).list()).toMatchObject([
      { state: 'pending' },
    ]);
  });
});
