import { describe, expect, it } from 'vitest';
import { DEFAULT_BUDGET_PER_SESSION_SATS, McpConfigError, parseMcpConfig } from './config.js';

const wallet = { L402KIT_WALLET: 'sandbox:' };

describe('parseMcpConfig', () => {
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
    expect(config.http).toEqual({ port: 3402, host: '127.0.0.1' });
  });

  it('has safe defaults: a per-session budget, no private network, no pay_invoice', () => {
    const config = parseMcpConfig([], wallet);
    expect(config.budgetPerSessionSats).toBe(DEFAULT_BUDGET_PER_SESSION_SATS);
    expect(config.allowPrivateNetwork).toBe(false);
    expect(config.enablePayInvoice).toBe(false);
    expect(config.totalBudgetSats).toBeUndefined();
  });

  it('requires a wallet, naming the variable', () => {
    expect(() => parseMcpConfig([], {})).toThrow(McpConfigError);
    expect(() => parseMcpConfig([], { L402KIT_WALLET: '  ' })).toThrow(/L402KIT_WALLET/);
    expect(parseMcpConfig(['--help'], {}).help).toBe(true);
    expect(parseMcpConfig(['-h'], {}).help).toBe(true);
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

  it('reads the HTTP port, host and token', () => {
    const config = parseMcpConfig(
      ['--http', '--port', '0', '--host', '0.0.0.0', '--auth-token', 't'],
      wallet,
    );
    expect(config.http).toEqual({ port: 0, host: '0.0.0.0', authToken: 't' });
    expect(() => parseMcpConfig(['--http', '--port', '70000'], wallet)).toThrow(McpConfigError);
  });
});
