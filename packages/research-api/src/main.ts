import { parseArgs } from 'node:util';
import { startResearchApi } from './research-api.js';
import { startResearchSandbox } from './research-sandbox.js';

// Standalone: on the sandbox by default (with a funded buyer wallet served over HTTP), or
// selling with a real wallet when L402KIT_WALLET is set.
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '8402' },
    'wallet-port': { type: 'string', default: '8403' },
  },
});
const port = Number(values.port);
const walletPort = Number(values['wallet-port']);

if (process.env.L402KIT_WALLET) {
  const { walletFromEnv } = await import('@l402kit/wallets');
  const wallet = walletFromEnv();
  const api = await startResearchApi({ wallet, port, onError: (error) => console.error(error) });
  console.log(`Research API selling with your wallet at ${api.url}`);
  stopOnSignal(async () => {
    await api.close();
    await wallet.close?.();
  });
} else {
  const sandbox = await startResearchSandbox({ serveWallet: true, apiPort: port, walletPort });
  console.log(`Research API (sandbox Lightning network) at ${sandbox.api.url}`);
  console.log(`Buyer wallet: 10,000 sandbox sats, served over an LNbits-compatible API.\n`);
  console.log('Point an agent or `l402kit fetch` at them:');
  console.log(`  export L402KIT_WALLET='${sandbox.walletServer?.walletUrl}'`);
  console.log('  export L402KIT_ALLOW_PRIVATE_NETWORK=1');
  console.log(`  l402kit fetch '${sandbox.api.url}/v1/search?q=lightning+invoices'`);
  stopOnSignal(() => sandbox.close());
}

function stopOnSignal(stop: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
