import { type L402Error, WalletConfigError } from '@l402kit/core';
import { describe, expect, it } from 'vitest';
import { createLnbitsWallet } from './lnbits-wallet.js';
import { walletFromUrl } from './wallet-from-url.js';

// fetch() refuses these ports before sending anything; a wallet there used to fail each payment
// as an unknown outcome (counted as spent, the URL locked as pending) though nothing was sent.
const SECRET = 'f'.repeat(64);
const PUBKEY = 'a'.repeat(64);

describe('wallet URLs on ports that fetch refuses', () => {
  it.each([
    ['lnbits', `lnbits://${SECRET}@127.0.0.1:9?tls=false`, 9],
    ['lnd+rest', `lnd+rest://${SECRET}@127.0.0.1:6000?tls=false`, 6000],
    ['phoenixd', `phoenixd://:${SECRET}@127.0.0.1:10080`, 10080],
    ['clnrest', `clnrest://${SECRET}@mynode.local:6667`, 6667],
    ['NWC relay', `nostr+walletconnect://${PUBKEY}?relay=wss://relay.test:25&secret=${SECRET}`, 25],
  ])('%s: refused when the URL is parsed, with nothing paid', (_name, url, port) => {
    let thrown: unknown;
    try {
      walletFromUrl(url);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(WalletConfigError);
    const error = thrown as L402Error;
    expect(error.code).toBe('WALLET_CONFIG');
    expect(error.paid).toBe(false);
    expect(error.message).toContain(`port ${port}`);
    expect(error.message).not.toContain(SECRET);
  });

  it('refuses them in the constructors too', () => {
    expect(() => createLnbitsWallet({ url: 'http://127.0.0.1:9', adminKey: SECRET })).toThrow(
      /port 9 is one that fetch refuses/,
    );
  });

  it('accepts the usual ports', () => {
    for (const url of [
      `lnbits://${SECRET}@127.0.0.1:8403?tls=false`,
      `lnbits://${SECRET}@legend.lnbits.com`,
      `phoenixd://:${SECRET}@127.0.0.1:9740`,
      `nostr+walletconnect://${PUBKEY}?relay=wss://relay.getalby.com/v1&secret=${SECRET}`,
    ]) {
      expect(() => walletFromUrl(url), url).not.toThrow();
    }
  });
});
