import { randomBytes } from 'node:crypto';
import { mintMacaroon, type StoredToken } from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';

/**
 * Tokens shaped like real ones: a macaroon and an invoice as long as the paywall's and the
 * sandbox's (random content, so no two tokens share a string), 20 origins, one path each.
 */
export function tokenFactory(): (index: number) => StoredToken {
  const macaroonLength = Buffer.from(
    mintMacaroon({
      rootKey: randomBytes(32),
      identifier: { version: 0, paymentHash: '00'.repeat(32), tokenId: '11'.repeat(32) },
      location: 'api',
      caveats: ['services=api:0', 'api_path=/v1/articles/12345', 'api_valid_until=1900000000'],
    }),
    'base64',
  ).length;
  const network = createSandboxNetwork();
  const invoiceLength = network
    .createNode()
    .createInvoice({ amountSats: 10, description: 'Access to api' }).invoice.length;
  const now = Date.now();
  return (index) => {
    const origin = `https://api${index % 20}.example`;
    const path = `/v1/articles/${index}`;
    return {
      key: `${origin} GET ${path}`,
      origin,
      scope: path,
      method: 'GET',
      scheme: 'L402',
      macaroon: randomBytes(macaroonLength).toString('base64'),
      preimage: randomBytes(32).toString('hex'),
      paymentHash: randomBytes(32).toString('hex'),
      invoice: `lnbcrt100n1${randomBytes(invoiceLength)
        .toString('base64url')
        .slice(0, invoiceLength - 11)}`,
      amountMsat: 10_000n,
      feeMsat: 1_000n,
      state: 'paid',
      createdAt: now,
      expiresAt: now + 86_400_000,
    };
  };
}
