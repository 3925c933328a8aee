import { isIP, type LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';

/**
 * Resolves a host name for a connection: the addresses that may be connected to, or a throw
 * (e.g. `PolicyDeniedError`) when the connection may not be made.
 */
export type ConnectResolver = (hostname: string) => Promise<string[]>;

/**
 * A fetch whose every connection resolves its host through `resolve`, and connects only to an
 * address `resolve` returned: the address checked is the address connected to, so a DNS
 * answer that changes between a policy check and the connect (rebinding) cannot reach an
 * address the check would refuse. Node's own fetch resolves again on its own and cannot take
 * this dispatcher across undici versions, so this uses undici's fetch with its own `Agent`,
 * and hands back a standard `Response`.
 */
export function createGuardedFetch(resolve: ConnectResolver): typeof globalThis.fetch {
  const lookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
        const addresses = found
          .map((address) => ({ address, family: isIP(address) }))
          .filter(({ family }) => family !== 0 && (wanted === undefined || family === wanted));
        const first = addresses[0];
        if (first === undefined) {
          const error = Object.assign(new Error(`${hostname} has no address to connect to`), {
            code: 'ENOTFOUND',
          });
          callback(error, '', 0);
        } else if (options.all) {
          callback(null, addresses);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: unknown) =>
        callback(
          (error instanceof Error ? error : new Error(String(error))) as NodeJS.ErrnoException,
          '',
          0,
        ),
    );
  };
  // One agent per guarded fetch: its pooled connections all went to addresses `resolve` gave.
  const dispatcher = new Agent({ connect: { lookup } });
  return async (input, init) => {
    const response = await undiciFetch(
      input as Parameters<typeof undiciFetch>[0],
      { ...init, dispatcher } as Parameters<typeof undiciFetch>[1],
    );
    // The platform's Response class, so callers' `instanceof Response` still holds.
    const standard = new Response(response.body as ReadableStream<Uint8Array> | null, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers as unknown as Headers,
    });
    Object.defineProperty(standard, 'url', { value: response.url });
    return standard;
  };
}
