import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBudget } from './budget/budget.js';
import { budgetHost, canonicalHost, canonicalOrigin, canonicalUrlHost } from './canonical-host.js';
import { createPolicy } from './client/policy.js';
import { PolicyDeniedError } from './errors.js';
import { MemoryTokenStore, tokenKey, tokenTarget } from './tokens/token-store.js';

describe('canonicalHost', () => {
  it.each([
    ['Shop.TEST', 'shop.test'],
    ['shop.test.', 'shop.test'],
    ['shop.test:8443', 'shop.test'],
    ['127.0.0.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['[::ffff:7f00:1]', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['[0:0:0:0:0:FFFF:7F00:1]:8080', '127.0.0.1'],
    ['[2001:DB8:0:0:0:0:0:1]', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['BÜCHER.example', 'xn--bcher-kva.example'],
  ])('%s is %s', (spelling, canonical) => {
    expect(canonicalHost(spelling)).toBe(canonical);
  });

  it('refuses text that names no host', () => {
    expect(() => canonicalHost('')).toThrow(RangeError);
    expect(() => canonicalHost('.')).toThrow(RangeError);
  });
});

describe('canonicalOrigin', () => {
  it('is URL.origin with the host made canonical', () => {
    expect(canonicalOrigin(new URL('https://Shop.Test./a?b'))).toBe('https://shop.test');
    expect(canonicalOrigin(new URL('http://[::ffff:7f00:1]:8080/'))).toBe('http://127.0.0.1:8080');
    expect(canonicalOrigin(new URL('http://[2001:db8::1]:80/'))).toBe('http://[2001:db8::1]');
    expect(canonicalOrigin(new URL('https://api.example.com:8443'))).toBe(
      'https://api.example.com:8443',
    );
  });
});

describe('canonicalUrlHost and canonicalOrigin on any URL', () => {
  // Hosts of every shape a URL can hold: names with trailing dots, IPv4 in any spelling,
  // IPv6 with and without a mapped IPv4 address.
  const host = fc.oneof(
    fc.domain().chain((name) => fc.constantFrom(name, `${name}.`, `${name.toUpperCase()}..`)),
    fc.ipV4().chain((ip) => fc.constantFrom(ip, `${ip}.`)),
    fc.ipV4Extended(),
    fc.ipV6().map((ip) => `[${ip}]`),
    fc.ipV4().map((ip) => `[::ffff:${ip}]`),
  );
  const url = fc
    .record({
      scheme: fc.constantFrom('http', 'https'),
      host,
      port: fc.option(fc.integer({ min: 1, max: 65_535 })),
      path: fc.webPath(),
    })
    .map(({ scheme, host, port, path }) => {
      try {
        return new URL(`${scheme}://${host}${port === null ? '' : `:${port}`}${path}`);
      } catch {
        return undefined;
      }
    })
    .filter((parsed): parsed is URL => parsed !== undefined && parsed.hostname !== '');

  it('reads the host as canonicalHost does, without parsing it again', () => {
    fc.assert(
      fc.property(url, (parsed) => {
        let fromText: string | undefined;
        try {
          fromText = canonicalHost(parsed.hostname);
        } catch {}
        if (fromText === undefined) {
          expect(() => canonicalUrlHost(parsed)).toThrow(RangeError);
        } else {
          expect(canonicalUrlHost(parsed)).toBe(fromText);
          // The origin: the canonical host, bracketed when it is an IPv6 address.
          const bracketed = isIP(fromText) === 6 ? `[${fromText}]` : fromText;
          const port = parsed.port === '' ? '' : `:${parsed.port}`;
          expect(canonicalOrigin(parsed)).toBe(`${parsed.protocol}//${bracketed}${port}`);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('budgetHost', () => {
  it('counts every loopback spelling as localhost, and keeps other hosts apart', () => {
    for (const spelling of [
      'localhost',
      'LOCALHOST.',
      'app.localhost',
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::ffff:7f00:1]:9000',
    ]) {
      expect(budgetHost(spelling)).toBe('localhost');
    }
    expect(budgetHost('shop.test.:443')).toBe('shop.test');
    expect(budgetHost('10.0.0.1')).toBe('10.0.0.1');
  });
});

describe('issue 11 item 6: one host spelled several ways is one host', () => {
  it('shares one per-host budget bucket across spellings of loopback and of a name', async () => {
    const budget = createBudget({ maxSatsPerHost: 10 });
    const first = await budget.reserve({
      amountMsat: 10_000n,
      maxFeeMsat: 0n,
      host: '127.0.0.1:8080',
    });
    await first.commit(0n);
    for (const host of ['localhost', 'localhost:9000', '[::ffff:7f00:1]', '::1', '0x7f.1']) {
      await expect(budget.reserve({ amountMsat: 1n, maxFeeMsat: 0n, host })).rejects.toThrow(
        /per-host limit/,
      );
    }
    await (await budget.reserve({ amountMsat: 10_000n, maxFeeMsat: 0n, host: 'shop.test' })).commit(
      0n,
    );
    await expect(
      budget.reserve({ amountMsat: 1n, maxFeeMsat: 0n, host: 'SHOP.test.' }),
    ).rejects.toThrow(/per-host limit/);
    expect((await budget.status()).perHost).toEqual({ localhost: 10_000n, 'shop.test': 10_000n });
  });

  it('keys a token by the canonical origin, so a spelling finds the token and shares the key', async () => {
    expect(tokenKey(new URL('https://shop.test./x'), 'GET')).toBe(
      tokenKey(new URL('https://SHOP.test/x'), 'GET'),
    );
    expect(tokenKey(new URL('http://[::ffff:7f00:1]:8080/x'), 'GET')).toBe(
      tokenKey(new URL('http://127.0.0.1:8080/x'), 'GET'),
    );
    const store = new MemoryTokenStore();
    await store.put({
      ...tokenTarget(new URL('http://127.0.0.1:8080/x'), 'GET'),
      scheme: 'L402',
      macaroon: 'AgE',
      preimage: 'ab'.repeat(32),
      paymentHash: 'cd'.repeat(32),
      invoice: 'lnbcrt1',
      amountMsat: 1n,
      feeMsat: 0n,
      state: 'paid',
      createdAt: 1,
    });
    expect(await store.find(new URL('http://[::ffff:7f00:1]:8080/x'), 'GET')).toBeDefined();
    // Another port is another origin; localhost is another name (it may be served on ::1).
    expect(await store.find(new URL('http://127.0.0.1:8081/x'), 'GET')).toBeUndefined();
    expect(await store.find(new URL('http://localhost:8080/x'), 'GET')).toBeUndefined();
  });

  it('applies deniedHosts and allowedHosts to every spelling', async () => {
    const policy = createPolicy({
      deniedHosts: ['127.0.0.1', 'blocked.test'],
      allowPrivateNetwork: true,
      requireHttps: false,
      resolveHost: async () => ['93.184.215.14'],
    });
    for (const url of ['http://[::ffff:7f00:1]/', 'http://0x7f.1/', 'https://BLOCKED.test./']) {
      await expect(policy.checkUrl(new URL(url))).rejects.toBeInstanceOf(PolicyDeniedError);
    }
    const allowOnly = createPolicy({
      allowedHosts: ['::ffff:10.0.0.1', 'shop.test.'],
      allowPrivateNetwork: true,
      resolveHost: async () => ['93.184.215.14'],
    });
    await allowOnly.checkUrl(new URL('https://10.0.0.1/'));
    await allowOnly.checkUrl(new URL('https://shop.test./'));
    await allowOnly.checkUrl(new URL('https://shop.test/'));
  });
});
