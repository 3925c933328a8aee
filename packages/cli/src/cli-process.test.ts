import { readFile } from 'node:fs/promises';
import { createPaidFetch, FileTokenStore } from '@l402kit/core';
import { articles, type ResearchSandbox, startResearchSandbox } from '@l402kit/research-api';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';
import {
  type ApertureLikeServer,
  readUntil,
  runProcess,
  startApertureLikeServer,
  startProcess,
  temporaryHome,
} from './test-support.js';

let sandbox: ResearchSandbox | undefined;
let aperture: ApertureLikeServer | undefined;
let home: Awaited<ReturnType<typeof temporaryHome>> | undefined;
afterEach(async () => {
  await Promise.all([sandbox?.close(), aperture?.close(), home?.cleanup()]);
  sandbox = aperture = home = undefined;
});

async function setup() {
  sandbox = await startResearchSandbox({ balanceSats: 1_000, serveWallet: true });
  home = await temporaryHome();
  return {
    sandbox,
    env: {
      ...home.env,
      L402KIT_WALLET: sandbox.walletServer!.walletUrl,
      L402KIT_ALLOW_PRIVATE_NETWORK: '1',
    },
  };
}

describe('l402kit as a real process, paying with a wallet over HTTP', () => {
  it('fetch buys an article from the example API, logs it, and reuses the token', async () => {
    const { sandbox, env } = await setup();
    const article = articles.find((each) => each.priceSats === 24)!;
    const url = `${sandbox.api.url}/v1/articles/${article.id}`;

    const first = await runProcess(['fetch', url], env);
    expect(first.stderr).toMatch(/paid 24 sats \+ 0\.148 sats routing fee/);
    expect(first.code).toBe(EXIT_CODES.ok);
    expect(JSON.parse(first.stdout).body).toBe(article.body);
    expect(1_000_000n - sandbox.buyer.balanceMsat).toBe(24_148n);
    expect(await readFile(env.L402KIT_SPEND_LOG, 'utf8')).toContain('"outcome":"paid"');
    // Secrets stay out of what the CLI prints.
    expect(first.stderr).not.toContain(env.L402KIT_WALLET.slice(9, 30));

    const second = await runProcess(['fetch', url], env);
    expect(second.code).toBe(EXIT_CODES.ok);
    expect(second.stderr).toContain('used a token bought earlier');
    expect(1_000_000n - sandbox.buyer.balanceMsat).toBe(24_148n);
  });

  it("fetch pays a server that sends aperture's two challenge lines, replaying -X, -d and -H", async () => {
    const { sandbox, env } = await setup();
    aperture = await startApertureLikeServer(sandbox.seller, 21);
    const result = await runProcess(
      ['fetch', `${aperture.url}/echo`, '-X', 'PUT', '-d', '{"q":1}', '-H', 'X-Test: yes'],
      env,
    );
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(JSON.parse(result.stdout)).toEqual({ method: 'PUT', body: '{"q":1}', test: 'yes' });
    expect(aperture.authorizations).toHaveLength(1);
    expect(aperture.authorizations[0]).toMatch(/^L402 [^:]+:[a-f0-9]{64}$/);
    expect(sandbox.seller.balanceMsat).toBe(21_000n);
  });

  it('exits 3 and pays nothing when the price is above --max-sats', async () => {
    const { sandbox, env } = await setup();
    const result = await runProcess(
      ['fetch', '--max-sats', '5', `${sandbox.api.url}/v1/articles/l402-deep`],
      env,
    );
    expect(result.code).toBe(EXIT_CODES.overBudget);
    expect(result.stderr).toContain('PRICE_ABOVE_CAP');
    expect(result.stderr).toContain('Nothing was paid.');
    expect(result.stdout).toBe('');
    expect(sandbox.buyer.balanceMsat).toBe(1_000_000n);
  });

  it('fetch says on stderr that it waits for a payment another process is making, then uses its token', async () => {
    const { sandbox, env } = await setup();
    const url = `${sandbox.api.url}/v1/articles/units-brief`;
    // Another process sharing the token file (this test) is paying for the same URL, and its
    // payment hangs: the CLI must neither pay again nor wait without a word.
    sandbox.buyer.injectFault({ kind: 'hang-then-settle' });
    const store = new FileTokenStore(env.L402KIT_TOKEN_FILE);
    const otherProcess = createPaidFetch({
      wallet: sandbox.buyer.wallet,
      tokenStore: store,
      policy: { allowPrivateNetwork: true, requireHttps: false },
      paymentTimeoutMs: 600_000,
    })(url);
    while (!(await store.list()).some((token) => token.state === 'pending')) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    const fetching = startProcess(['fetch', url], env);
    const [waiting] = await readUntil(fetching.errorLines, /waiting up to/);
    expect(waiting).toMatch(
      /^waiting up to \d+ s for a payment of 2 sats for http:\/\/127\.0\.0\.1:\d+\/v1\/articles\/units-brief that another l402kit process started/,
    );
    sandbox.network.settlePending();
    expect((await otherProcess).status).toBe(200);
    expect(await fetching.exited).toBe(EXIT_CODES.ok);
    expect(1_000_000n - sandbox.buyer.balanceMsat).toBe(2_104n);
  });
});
