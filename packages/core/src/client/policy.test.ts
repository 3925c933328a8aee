import { lookup } from 'node:dns/promises';
import { describe, expect, it } from 'vitest';
import {
  ApprovalDeniedError,
  ApprovalRequiredError,
  PolicyDeniedError,
  PriceAboveCapError,
  RequestFailedError,
} from '../errors.js';
import {
  createPolicy,
  isLoopbackHost,
  isPrivateAddress,
  type PaymentApprovalRequest,
} from './policy.js';

const publicDns = async () => ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'];

async function denial(promise: Promise<unknown>): Promise<PolicyDeniedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PolicyDeniedError);
  expect((error as PolicyDeniedError).paid).toBe(false);
  return error as PolicyDeniedError;
}

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '169.254.0.1',
    '100.64.0.1',
    '100.127.255.255',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '::1',
    '::',
    '[::1]',
    'fc00::1',
    'fd00:ec2::254',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '64:ff9b::7f00:1',
    '64:ff9b::192.168.0.1',
    '64:ff9b:0:0:0:0:a00:1',
  ])('%s is private', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '93.184.215.14',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '169.255.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2001:4860::8888',
  ])('%s is public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  it('knows loopback hosts', () => {
    for (const host of [
      'localhost',
      'LOCALHOST.',
      'api.localhost',
      '127.0.0.1',
      '127.1.2.3',
      '[::1]',
      '::1',
    ]) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of ['localhost.example.com', 'mylocalhost', '10.0.0.1', '::2', 'example.com']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});

describe('createPolicy().checkUrl', () => {
  it('allows a public https URL by default', async () => {
    await expect(
      createPolicy({ resolveHost: publicDns }).checkUrl(new URL('https://api.example.com/x')),
    ).resolves.toBeUndefined();
  });

  it('requires https except for localhost and loopback literals', async () => {
    const policy = createPolicy({ allowPrivateNetwork: true, resolveHost: publicDns });
    const error = await denial(policy.checkUrl(new URL('http://api.example.com/pay?key=secret')));
    expect(error.message).toContain('https is required');
    expect(error.message).not.toContain('secret');
    expect(error.url).toBe('http://api.example.com/pay');
    for (const url of ['http://localhost:8080/', 'http://127.0.0.1/', 'http://[::1]:3000/']) {
      await expect(policy.checkUrl(new URL(url))).resolves.toBeUndefined();
    }
    // A private but not loopback address still needs https.
    await denial(policy.checkUrl(new URL('http://10.0.0.1/')));
    const relaxed = createPolicy({ requireHttps: false, resolveHost: publicDns });
    await expect(relaxed.checkUrl(new URL('http://api.example.com/'))).resolves.toBeUndefined();
  });

  it('refuses schemes other than http and https', async () => {
    const policy = createPolicy({ allowPrivateNetwork: true });
    for (const url of ['file:///etc/passwd', 'ftp://example.com/', 'data:text/plain,hi']) {
      expect((await denial(policy.checkUrl(new URL(url)))).message).toContain(
        'only http and https',
      );
    }
  });

  it('applies allowed and denied host patterns, denial first', async () => {
    const policy = createPolicy({
      allowedHosts: ['*.example.com', 'api.test', /^paid-\d+\.shop$/],
      deniedHosts: ['evil.example.com'],
      resolveHost: publicDns,
    });
    for (const url of [
      'https://api.example.com/',
      'https://a.b.EXAMPLE.com./',
      'https://api.test:8443/',
      'https://paid-42.shop/',
    ]) {
      await expect(policy.checkUrl(new URL(url))).resolves.toBeUndefined();
    }
    expect((await denial(policy.checkUrl(new URL('https://evil.example.com/')))).message).toContain(
      'host evil.example.com is in deniedHosts',
    );
    for (const url of [
      'https://example.com/',
      'https://example.com.attacker.net/',
      'https://api.test.attacker.net/',
      'https://paid-x.shop/',
      'https://notexample.com/',
    ]) {
      expect((await denial(policy.checkUrl(new URL(url)))).message).toContain(
        'is not in allowedHosts',
      );
    }
    const oneLabel = createPolicy({ allowedHosts: ['api-*.example.com'], resolveHost: publicDns });
    await expect(
      oneLabel.checkUrl(new URL('https://api-eu.example.com/')),
    ).resolves.toBeUndefined();
    await denial(oneLabel.checkUrl(new URL('https://api-eu.evil.example.com/')));
  });

  it.each([
    'https://127.0.0.1/',
    'https://2130706433/',
    'https://0x7f.1/',
    'https://10.0.0.5/',
    'https://192.168.0.1/',
    'https://169.254.169.254/latest/meta-data/',
    'https://100.64.1.1/',
    'https://0.0.0.0/',
    'https://[::1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:169.254.169.254]/',
    'https://[fd12:3456::1]/',
    'https://[fe80::1]/',
  ])('refuses the private address in %s', async (url) => {
    const policy = createPolicy({ resolveHost: publicDns });
    expect((await denial(policy.checkUrl(new URL(url)))).message).toContain(
      'private network address',
    );
    await expect(
      createPolicy({ allowPrivateNetwork: true }).checkUrl(new URL(url)),
    ).resolves.toBeUndefined();
  });

  it('refuses localhost without a lookup', async () => {
    let lookups = 0;
    const policy = createPolicy({
      resolveHost: async () => {
        lookups++;
        return ['8.8.8.8'];
      },
    });
    expect((await denial(policy.checkUrl(new URL('https://localhost/')))).message).toContain(
      'localhost is a loopback name',
    );
    await denial(policy.checkUrl(new URL('https://app.localhost/')));
    expect(lookups).toBe(0);
  });

  it('resolves names and refuses when any address is private', async () => {
    // The real resolver, asked about localhost, stands in for a DNS name pointing inward.
    const realLocalhost = async () =>
      (await lookup('localhost', { all: true, verbatim: true })).map((entry) => entry.address);
    const policy = createPolicy({ resolveHost: realLocalhost });
    expect((await denial(policy.checkUrl(new URL('https://innocent.example/')))).message).toMatch(
      /innocent\.example resolves to the private network address (127\.0\.0\.1|::1)/,
    );
    const mixed = createPolicy({ resolveHost: async () => ['8.8.8.8', '::ffff:10.0.0.1'] });
    expect((await denial(mixed.checkUrl(new URL('https://rebind.example/')))).message).toContain(
      '::ffff:10.0.0.1',
    );
  });

  it('uses dns.lookup by default', async () => {
    // The machine's own name resolves locally (here through /etc/hosts) to a non-public address.
    const { hostname } = await import('node:os');
    const addresses = await lookup(hostname(), { all: true }).catch(() => []);
    if (addresses.length > 0 && addresses.some((entry) => isPrivateAddress(entry.address))) {
      await denial(createPolicy().checkUrl(new URL(`https://${hostname()}/`)));
    }
    const error = await createPolicy()
      .checkUrl(new URL('https://does-not-exist.invalid/'))
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error as RequestFailedError).paid).toBe(false);
  });
});

describe('createPolicy().resolveForConnect', () => {
  it('is there only while the private-network check is on', () => {
    expect(createPolicy().resolveForConnect).toBeTypeOf('function');
    expect(createPolicy({ allowPrivateNetwork: true }).resolveForConnect).toBeUndefined();
  });

  it('gives the addresses of a public name and refuses a name with any private address', async () => {
    const answers: Record<string, string[]> = {
      'public.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
      'mixed.test': ['93.184.215.14', '10.0.0.7'],
      'metadata.test': ['169.254.169.254'],
    };
    const policy = createPolicy({ resolveHost: async (name) => answers[name] ?? [] });
    await expect(policy.resolveForConnect!('public.test')).resolves.toEqual(answers['public.test']);
    for (const [name, address] of [
      ['mixed.test', '10.0.0.7'],
      ['metadata.test', '169.254.169.254'],
    ] as const) {
      const error = await denial(policy.resolveForConnect!(name));
      expect(error.paid).toBe(false);
      expect(error.message).toContain(`private network address ${address}`);
    }
    await denial(policy.resolveForConnect!('localhost'));
    await denial(policy.resolveForConnect!('::ffff:7f00:1'));
    await expect(policy.resolveForConnect!('93.184.215.14')).resolves.toEqual(['93.184.215.14']);
  });
});

describe('createPolicy().checkPrice', () => {
  it('refuses a price above the cap and allows one at the cap', () => {
    const policy = createPolicy({ maxSatsPerRequest: 10 });
    expect(() => policy.checkPrice({ host: 'a.test', amountMsat: 10_000n })).not.toThrow();
    expect(() =>
      policy.checkPrice({ host: 'a.test', amountMsat: 10_001n, url: 'https://a.test/x' }),
    ).toThrow(
      new PriceAboveCapError(
        'The price 10.001 sats asked by a.test is above the policy cap of 10 sats per request. Nothing was paid.',
        { url: 'https://a.test/x' },
      ),
    );
    expect(() =>
      createPolicy().checkPrice({ host: 'a.test', amountMsat: 10n ** 15n }),
    ).not.toThrow();
    expect(() =>
      createPolicy({ maxSatsPerRequest: 10, maxMsatPerRequest: 5n }).checkPrice({
        host: 'a',
        amountMsat: 6n,
      }),
    ).toThrow(PriceAboveCapError);
  });
});

describe('createPolicy().approve', () => {
  const payment: PaymentApprovalRequest = {
    url: 'https://a.test/x',
    host: 'a.test',
    amountMsat: 5_000n,
    maxFeeMsat: 50n,
    description: 'one article',
  };

  it('asks the operator and passes only an explicit true', async () => {
    const seen: PaymentApprovalRequest[] = [];
    const policy = createPolicy({
      approve: (request) => {
        seen.push(request);
        return request.amountMsat < 4_000n;
      },
    });
    await expect(policy.approve({ ...payment, amountMsat: 3_000n })).resolves.toBeUndefined();
    const error = await policy.approve(payment).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ApprovalDeniedError);
    expect((error as ApprovalDeniedError).paid).toBe(false);
    expect((error as Error).message).toBe(
      'Payment of 5 sats to a.test was not approved. Nothing was paid.',
    );
    expect(seen.map((request) => request.amountMsat)).toEqual([3_000n, 5_000n]);
    expect(Object.isFrozen(seen[0])).toBe(true);

    const truthy = createPolicy({ approve: () => 'yes' as unknown as boolean });
    await expect(truthy.approve(payment)).rejects.toBeInstanceOf(ApprovalDeniedError);
    const asynchronous = createPolicy({ approve: async () => true });
    await expect(asynchronous.approve(payment)).resolves.toBeUndefined();
  });

  it('treats a failing callback as a denial', async () => {
    const policy = createPolicy({
      approve: () => {
        throw new Error('prompt closed');
      },
    });
    const error = await policy.approve(payment).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ApprovalDeniedError);
    expect((error as Error).cause).toEqual(new Error('prompt closed'));
  });

  it('asks only above approveAboveSats, and never without a callback or a threshold', async () => {
    let asked = 0;
    const policy = createPolicy({
      approveAboveSats: 5,
      approve: () => {
        asked++;
        return false;
      },
    });
    expect(policy.needsApproval(5_000n)).toBe(false);
    expect(policy.needsApproval(5_001n)).toBe(true);
    await expect(policy.approve({ ...payment, amountMsat: 5_000n })).resolves.toBeUndefined();
    await expect(policy.approve({ ...payment, amountMsat: 5_001n })).rejects.toBeInstanceOf(
      ApprovalDeniedError,
    );
    expect(asked).toBe(1);
    expect(createPolicy().needsApproval(10n ** 12n)).toBe(false);
    expect(createPolicy({ approve: () => true }).needsApproval(1n)).toBe(true);
  });

  it('refuses above approveAboveSats when there is no callback: a person must approve', async () => {
    const policy = createPolicy({ approveAboveSats: 4 });
    expect(policy.hasApprovalCallback).toBe(false);
    expect(policy.needsApproval(4_000n)).toBe(false);
    await expect(policy.approve({ ...payment, amountMsat: 4_000n })).resolves.toBeUndefined();
    const error = await policy.approve(payment).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ApprovalRequiredError);
    expect(error).toMatchObject({ code: 'APPROVAL_REQUIRED', paid: false });
    expect((error as Error).message).toBe(
      "Payment of 5 sats to a.test needs a person's approval (above 4 sats) and none was given. Nothing was paid.",
    );
  });

  it('cannot be changed after creation', () => {
    const options = { approve: () => false, allowedHosts: ['a.test'] };
    const policy = createPolicy(options);
    options.approve = () => true;
    options.allowedHosts.push('b.test');
    expect(Object.isFrozen(policy)).toBe(true);
    expect(() => {
      (policy as { approve: unknown }).approve = async () => undefined;
    }).toThrow();
    return Promise.all([
      expect(policy.approve(payment)).rejects.toBeInstanceOf(ApprovalDeniedError),
      expect(
        createPolicy({ ...options, resolveHost: publicDns }).checkUrl(new URL('https://b.test/')),
      ).resolves.toBeUndefined(),
      expect(policy.checkUrl(new URL('https://b.test/'))).rejects.toBeInstanceOf(PolicyDeniedError),
    ]);
  });
});
