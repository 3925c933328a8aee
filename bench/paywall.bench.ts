import { randomBytes } from 'node:crypto';
import {
  DEFAULT_FEE_LIMIT,
  decodeInvoice,
  formatCredential,
  maxFeeFor,
  parseL402Challenge,
} from '@l402kit/core';
import { createSandboxNetwork } from '@l402kit/sandbox';
import { createPaywall } from '@l402kit/server';
import { Bench } from 'tinybench';
import { type BenchTable, round } from './bench-table.js';

const ORIGIN = 'http://api.example';

/**
 * The paywall on its own (no HTTP): credentials verified per second (`verifyCredential`),
 * requests let through with a valid credential (`authorize`) and 402 challenges minted per
 * second (`authorize` without a credential: an invoice from the sandbox wallet and a macaroon).
 */
export async function paywallBench(options: { timeMs?: number } = {}): Promise<BenchTable> {
  const network = createSandboxNetwork();
  const merchant = network.createNode({ name: 'merchant' });
  const payer = network.createNode({ name: 'payer', balanceSats: 1_000_000 });
  const paywall = createPaywall({
    wallet: merchant.wallet,
    rootKey: randomBytes(32),
    serviceName: 'bench',
    price: 10,
    bindToPath: true,
    bindToMethod: true,
    validForSeconds: 3_600,
  });

  // One real purchase gives the valid credential every verification checks.
  const challenge = await paywall.authorize(new Request(`${ORIGIN}/article`));
  if (challenge.ok) throw new Error('the paywall let an unpaid request through');
  const offer = parseL402Challenge(challenge.response.headers.get('www-authenticate') ?? '');
  const invoice = decodeInvoice(offer.invoice);
  const paid = await payer.wallet.payInvoice({
    invoice: offer.invoice,
    amountMsat: invoice.amountMsat!,
    paymentHash: invoice.paymentHash,
    maxFeeMsat: maxFeeFor(invoice.amountMsat!, DEFAULT_FEE_LIMIT),
    timeoutMs: 10_000,
  });
  const credential = formatCredential({
    scheme: 'L402',
    macaroon: offer.macaroon,
    preimage: paid.preimage,
  });
  const forged = formatCredential({
    scheme: 'L402',
    macaroon: offer.macaroon,
    preimage: randomBytes(32).toString('hex'),
  });
  const scope = { path: '/article', method: 'GET' };
  const paidRequest = new Request(`${ORIGIN}/article`, { headers: { authorization: credential } });

  const bench = new Bench({ time: options.timeMs ?? 1_000, warmupTime: 100, throws: true });
  bench
    .add('verifyCredential (valid)', () => {
      if (!paywall.verifyCredential(credential, scope).ok) throw new Error('valid refused');
    })
    .add('verifyCredential (forged preimage)', () => {
      if (paywall.verifyCredential(forged, scope).ok) throw new Error('forgery accepted');
    })
    .add('authorize (valid credential)', async () => {
      if (!(await paywall.authorize(paidRequest)).ok) throw new Error('valid refused');
    })
    .add('authorize (no credential: mint a 402)', async () => {
      const result = await paywall.authorize(new Request(`${ORIGIN}/article`));
      if (result.ok || result.response.status !== 402) throw new Error('no 402');
    });
  await bench.run();

  const perSecond = new Map<string, number>();
  for (const task of bench.tasks) {
    if (task.result.state !== 'completed') throw new Error(`${task.name}: ${task.result.state}`);
    perSecond.set(task.name, 1_000 / task.result.latency.p50);
  }
  const minting = perSecond.get('authorize (no credential: mint a 402)')!;
  return {
    id: 'paywall',
    title: 'Paywall server: verifications and 402 challenges per second (one core)',
    rows: bench.tasks.map((task) => ({
      operation: task.name,
      'ops/s (median)': round(perSecond.get(task.name)!, 0),
      'x 402-minting rate': round(perSecond.get(task.name)! / minting, 1),
    })),
    notes: [
      'The token is bound to path, method and an expiry, so every verification checks the HMAC chain, the preimage and three caveats.',
      'Minting a 402 asks the sandbox wallet for a signed BOLT11 invoice (secp256k1) and mints a macaroon; a real node adds its own invoice latency.',
    ],
  };
}
