import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BUDGET_PER_SESSION_SATS,
  MCP_SERVER_USAGE,
  McpConfigError,
  parseMcpConfig,
} from './config.js';

const wallet = { L402KIT_WALLET: 'sandbox:' };

describe('parseMcpConfig', () => {
  it('reads the approval threshold (0: every payment is asked); none by default', () => {
    expect(parseMcpConfig(['--approve-above-sats', '100'], wallet).approveAboveSats).toBe(100);
    expect(
      parseMcpConfig([], { ...wallet, L402KIT_APPROVE_ABOVE_SATS: '0' }).approveAboveSats,
    ).toBe(0);
    expect(parseMcpConfig([], wallet).approveAboveSats).toBeUndefined();
    expect(() => parseMcpConfig(['--approve-above-sats', '-1'], wallet)).toThrow(McpConfigError);
  });

  it('reads every setting from environment variables', () => {
    const config = parseMcpConfig([], {
      L402KIT_WALLET: 'lnbits://key@host',
      L402KIT_BUDGET_SATS: '250',
      L402KIT_TOTAL_BUDGET_SATS: '5000',
      L402KIT_MAX_SATS_PER_REQUEST: '0.5',
      L402KIT_ALLOWED_HOSTS: 'api.example.com, *.example.org,',
      L402KIT_ALLOW_PRIVATE_NETWORK: 'true',
      L402KIT_TOKEN_FILE: '/tmp/tokens.json',
      L402KIT_ENABLE_PAY_INVOICE: '1',
    });
    expect(config).toMatchObject({
      walletUrl: 'lnbits://key@host',
      budgetPerSessionSats: 250,
      totalBudgetSats: 5000,
      maxSatsPerRequest: 0.5,
      allowedHosts: ['api.example.com', '*.example.org'],
      allowPrivateNetwork: true,
      tokenFile: '/tmp/tokens.json',
      enablePayInvoice: true,
      enableCreateInvoice: false,
    });
    expect(config.http).toBeUndefined();
  });

  it('lets flags win over environment variables', () => {
    const config = parseMcpConfig(
      ['--wallet', 'sandbox:?balance=10', '--budget-sats=20', '--enable-pay-invoice', '--http'],
      { L402KIT_WALLET: 'lnbits://key@host', L402KIT_BUDGET_SATS: '250' },
    );
    expect(config.walletUrl).toBe('sandbox:?balance=10');
    expect(config.budgetPerSessionSats).toBe(20);
    expect(config.enablePayInvoice).toBe(true);
    expect(config.http).toEqual({
      port: 3402,
      host: '127.0.0.1',
      maxSessions: 100,
      sessionIdleSeconds: 1800,
    });
  });

  it('has safe defaults: a per-session budget, no private network, no pay_invoice', () => {
    const config = parseMcpConfig([], wallet);
    expect(config.budgetPerSessionSats).toBe(DEFAULT_BUDGET_PER_SESSION_SATS);
    expect(config.allowPrivateNetwork).toBe(false);
    expect(config.enablePayInvoice).toBe(false);
    // No total configured: all sessions together get one session's budget.
    expect(config.totalBudgetSats).toBe(DEFAULT_BUDGET_PER_SESSION_SATS);
    expect(config.totalBudgetIsDefault).toBe(true);
    const small = parseMcpConfig(['--budget-sats', '15'], wallet);
    expect(small.totalBudgetSats).toBe(15);
  });

  it('requires a wallet, naming the variable', () => {
    expect(() => parseMcpConfig([], {})).toThrow(McpConfigError);
    expect(() => parseMcpConfig([], { L402KIT_WALLET: '  ' })).toThrow(/L402KIT_WALLET/);
    expect(parseMcpConfig(['--help'], {}).help).toBe(true);
    expect(parseMcpConfig(['-h'], {}).help).toBe(true);
  });

  it('--help lines up every option: variables in one column, meanings in the next', () => {
    const options = MCP_SERVER_USAGE.split('\n').filter((line) => line.startsWith('  -'));
    const withVariable = options.filter((line) => line.includes(' L402KIT_'));
    expect(withVariable.length).toBeGreaterThan(20);
    const first = withVariable[0]!;
    const meaningColumn = (line: string) => /^ {2}.*? {2,}L402KIT_\S+ {2,}/.exec(line)?.[0].length;
    for (const line of withVariable) {
      expect([line, line.indexOf(' L402KIT_')]).toEqual([line, first.indexOf(' L402KIT_')]);
      expect([line, meaningColumn(line)]).toEqual([line, meaningColumn(first)]);
    }
    // -h has no variable: its meaning starts in the same column as every other.
    const help = options.find((line) => line.startsWith('  -h'))!;
    expect(help.indexOf('show this help')).toBe(meaningColumn(first));
  });

  it.each([
    ['L402KIT_BUDGET_SATS', '-5'],
    ['L402KIT_BUDGET_SATS', '0'],
    ['L402KIT_BUDGET_SATS', '1e3'],
    ['L402KIT_TOTAL_BUDGET_SATS', 'lots'],
    ['L402KIT_MAX_SATS_PER_REQUEST', '0.0001'],
    ['L402KIT_ALLOW_PRIVATE_NETWORK', 'maybe'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => parseMcpConfig([], { ...wallet, [name]: value })).toThrow(McpConfigError);
  });

  it('never repeats a secret from a mistyped flag', () => {
    const secret = 'lnbits://deadbeefsecret@host';
    let message = '';
    try {
      parseMcpConfig([`--walet=${secret}`], {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('unknown option --walet');
    expect(message).not.toContain('deadbeef');
  });

  it('reads the HTTP port, host, token, origins, names and session limits', () => {
    const config = parseMcpConfig(
      [
        '--http',
        '--port',
        '0',
        '--host',
        '0.0.0.0',
        '--auth-token',
        'sixteen-chars-ok',
        '--allowed-origins',
        'https://app.example.com, http://localhost:6274',
        '--server-names',
        'mcp.example.com',
        '--max-sessions',
        '7',
        '--session-idle-seconds',
        '90.5',
      ],
      wallet,
    );
    expect(config.http).toEqual({
      port: 0,
      host: '0.0.0.0',
      authToken: 'sixteen-chars-ok',
      allowedOrigins: ['https://app.example.com', 'http://localhost:6274'],
      serverNames: ['mcp.example.com'],
      maxSessions: 7,
      sessionIdleSeconds: 90.5,
    });
    expect(() => parseMcpConfig(['--http', '--port', '70000'], wallet)).toThrow(McpConfigError);
  });

  it.each([
    ['--auth-token', 'fifteen-chars-x'],
    ['--allowed-origins', 'https://app.example.com/path'],
    ['--allowed-origins', 'null'],
    ['--allowed-origins', 'app.example.com'],
    ['--max-sessions', '0'],
    ['--max-sessions', '2.5'],
    ['--session-idle-seconds', '0'],
    ['--session-idle-seconds', '99999999'],
  ])('refuses %s %s', (flag, value) => {
    expect(() => parseMcpConfig(['--http', flag, value], wallet)).toThrow(McpConfigError);
  });

  it('issue 11 item 2: reads the response deadlines and byte limit, refusing unusable ones', () => {
    const config = parseMcpConfig(
      ['--headers-timeout-seconds', '5', '--max-response-bytes', '4096'],
      { ...wallet, L402KIT_BODY_TIMEOUT_SECONDS: '12.5' },
    );
    expect(config).toMatchObject({
      headersTimeoutSeconds: 5,
      bodyTimeoutSeconds: 12.5,
      maxResponseBytes: 4096,
    });
    expect(parseMcpConfig([], wallet)).not.toHaveProperty('headersTimeoutSeconds');
    for (const [flag, value] of [
      ['--headers-timeout-seconds', '0'],
      ['--body-timeout-seconds', '-1'],
      ['--max-response-bytes', '1.5'],
      ['--max-response-bytes', '0'],
    ] as const) {
      expect(() => parseMcpConfig([flag, value], wallet)).toThrow(McpConfigError);
    }
  });

  it('never repeats a refused auth token', () => {
    expect(() => parseMcpConfig(['--http', '--auth-token', 'secret-short'], wallet)).toThrow(
      /^(?!.*secret-short).*at least 16 characters/,
    );
  });

  it('issue 13: a database URL replaces the SQLite file; --no-db wins; --db with it is refused', () => {
    const url = 'postgres://agent:hunter2@db.internal:5432/fleet';
    const config = parseMcpConfig([], { ...wallet, L402KIT_DATABASE_URL: url });
    expect(config.databaseUrl).toBe(url);
    expect(config.databasePath).toBeUndefined();
    expect(parseMcpConfig(['--database-url', url], wallet).databaseUrl).toBe(url);
    const memory = parseMcpConfig(['--no-db'], { ...wallet, L402KIT_DATABASE_URL: url });
    expect(memory.databaseUrl).toBeUndefined();
    expect(memory.databasePath).toBeUndefined();
    expect(() => parseMcpConfig(['--db', '/tmp/x.db', '--database-url', url], wallet)).toThrow(
      /^(?!.*hunter2).*not both/,
    );
  });
});
