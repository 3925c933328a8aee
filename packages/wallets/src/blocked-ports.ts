import { WalletConfigError } from '@l402kit/core';

// The Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#port-blocking), as undici
// 7 refuses them. fetch() and WebSocket fail on these before anything is sent, which a wallet
// call cannot tell from a lost answer; refusing them up front keeps that from ever looking
// like a payment of unknown outcome.
const BLOCKED_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
  103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
  512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
  995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
  6669, 6679, 6697, 10080,
]);

/** Throws a WalletConfigError when `url` names a port that fetch and WebSocket refuse to use. */
export function refuseBlockedPort(url: URL, backend: string): void {
  if (url.port === '') return;
  const port = Number(url.port);
  if (port === 0 || BLOCKED_PORTS.has(port)) {
    throw new WalletConfigError(
      `${backend} at ${url.hostname}: port ${port} is one that fetch refuses to connect to (the Fetch standard's blocked ports); serve the wallet on another port`,
    );
  }
}
