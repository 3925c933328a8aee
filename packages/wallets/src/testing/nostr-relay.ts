import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real Nostr relay (nostrmini) on a free loopback port. */
export interface TestNostrRelay {
  /** `ws://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

interface NostrMiniInstance {
  server: { listen(port: number, host: string): Server };
  ws: { getWss(): { clients: Set<{ terminate(): void }> } };
}

/** Starts nostrmini in-process on 127.0.0.1 (it is a devDependency: tests and tools only). */
export async function startNostrRelay(): Promise<TestNostrRelay> {
  const module = (await import('nostrmini')) as unknown as Record<string, unknown>;
  // nostrmini is CommonJS with `exports.default`; ESM loaders wrap it once or twice.
  const exported = module['default'] as Record<string, unknown> | (new () => NostrMiniInstance);
  const NostrMini = (
    typeof exported === 'function' ? exported : exported['default']
  ) as new () => NostrMiniInstance;
  const relay = new NostrMini();
  const server = relay.server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    async close() {
      // Open websockets would keep server.close() waiting forever.
      for (const client of relay.ws.getWss().clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
