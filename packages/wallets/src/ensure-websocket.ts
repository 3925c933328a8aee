let installing: Promise<void> | undefined;

/**
 * Node 20 has no global `WebSocket`, and the nostr client inside `@getalby/sdk` looks for one.
 * Installs the `ws` implementation once, only when the runtime has none (Node 22+ and browsers
 * keep their own).
 */
export function ensureWebSocket(): Promise<void> {
  installing ??= (async () => {
    if (typeof globalThis.WebSocket === 'function') return;
    const { WebSocket } = await import('ws');
    const scope = globalThis as { WebSocket?: unknown };
    scope.WebSocket ??= WebSocket;
  })();
  return installing;
}
