// What a caller, a tool result and an event say when something fails after a payment: that
// it was paid, how much, and that the token is kept. Real loopback sellers that misbehave at
// the socket level after the paid retry, real sandbox payments.
import {
  createBudget,
  createL402Tools,
  createPaidFetch,
  L402Error,
  type PaidFetchEvent,
} from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dropMidBody,
  type HostileSeller,
  startHostileSeller,
  succeededPayments,
} from './support/hostile-seller.js';

const loopbackPolicy = { allowPrivateNetwork: true, requireHttps: false };
const sellers: HostileSeller[] = [];
afterEach(async () => {
  for (const seller of sellers.splice(0)) await seller.close();
});

/** Drops the connection mid-body on the first `drops` paid requests, then delivers. */
async function droppingSeller(drops: number): Promise<HostileSeller> {
  let left = drops;
  const seller = await startHostileSeller((_request, response) => {
    if (left-- > 0) dropMidBody(response);
    else response.end('delivered');
  });
  sellers.push(seller);
  return seller;
}

function paidFetchFor(seller: HostileSeller, events: PaidFetchEvent[] = []) {
  return createPaidFetch({
    wallet: seller.payer.wallet,
    budget: createBudget({ name: 'test', maxSats: 1_000 }),
    policy: loopbackPolicy,
    onEvent: (event) => events.push(event),
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('issue 11 item 1: errors after a payment say it was paid', () => {
  it('issue 11 item 1: a body dropped after the paid retry rejects with PAID_NOT_DELIVERED, the amount and the kept token', async () => {
    const seller = await droppingSeller(1);
    const events: PaidFetchEvent[] = [];
    const paidFetch = paidFetchFor(seller, events);
    const response = await paidFetch(`${seller.url}/item?q=1`);
    expect(response.l402).toMatchObject({ paid: true, amountMsat: 10_000n });
    const error = await rejection(response.text());
    expect(error).toBeInstanceOf(L402Error);
    const typed = error as L402Error;
    expect(typed).toMatchObject({ code: 'PAID_NOT_DELIVERED', paid: true, amountMsat: 10_000n });
    expect(typed.message).toContain('10 sats');
    expect(typed.message).toContain('token is kept');
    expect(typed.message).not.toMatch(/nothing was paid/i);
    const reported = events.filter((event) => event.type === 'error');
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ error: { code: 'PAID_NOT_DELIVERED', paid: true } });

    // The token is kept: the retry is delivered and costs nothing.
    const again = await paidFetch(`${seller.url}/item?q=1`);
    expect(await again.text()).toBe('delivered');
    expect(again.l402).toMatchObject({ paid: false, usedCachedToken: true });
    expect(succeededPayments(seller)).toBe(1);
  });

  it('issue 11 item 1: l402_fetch reports the payment, its amount and the kept token when the body is cut off', async () => {
    const seller = await droppingSeller(1);
    const paidFetch = paidFetchFor(seller);
    const fetchTool = createL402Tools({ paidFetch }).find((tool) => tool.name === 'l402_fetch')!;
    const result = await fetchTool.execute({ url: `${seller.url}/item` });
    expect(result).toMatch(/^l402_fetch failed \(PAID_NOT_DELIVERED\)/);
    expect(result).toContain('Paid 10 sats');
    expect(result).toContain('token is kept');
    expect(result).not.toMatch(/nothing was paid/i);

    const retried = await fetchTool.execute({ url: `${seller.url}/item` });
    expect(retried).toContain('delivered');
    expect(retried).toContain('Used a token bought earlier');
    expect(succeededPayments(seller)).toBe(1);
    expect((await paidFetch.budget.status()).spentMsat).toBe(10_000n);
  });

  it('issue 11 item 1: a body cut off on a token bought earlier says nothing was paid now and the token is kept', async () => {
    const seller = await droppingSeller(0);
    const paidFetch = paidFetchFor(seller);
    expect(await (await paidFetch(`${seller.url}/item`)).text()).toBe('delivered');
    // From now on the seller drops every paid body.
    const dropping = await startHostileSeller((_request, response) => dropMidBody(response));
    sellers.push(dropping);
    const reused = createPaidFetch({
      wallet: dropping.payer.wallet,
      policy: loopbackPolicy,
      tokenStore: paidFetch.tokenStore,
    });
    // Same token store, another origin: a fresh purchase there, then a reuse that is cut off.
    const first = await reused(`${dropping.url}/item`);
    await rejection(first.text());
    const second = await reused(`${dropping.url}/item`);
    expect(second.l402).toMatchObject({ paid: false, usedCachedToken: true });
    const error = (await rejection(second.text())) as L402Error;
    expect(error).toBeInstanceOf(L402Error);
    expect(error.paid).toBe(false);
    expect(error.message).toContain('token bought earlier is kept');
    expect(succeededPayments(dropping)).toBe(1);
  });

  it('issue 11 item 1: a paid retry that fails before any response says the amount in the message itself', async () => {
    const seller = await startHostileSeller((request) => request.socket.destroy());
    sellers.push(seller);
    const error = (await rejection(paidFetchFor(seller)(`${seller.url}/item`))) as L402Error;
    expect(error).toMatchObject({ code: 'PAID_NOT_DELIVERED', paid: true, amountMsat: 10_000n });
    expect(error.message).toContain('10 sats');
    expect(error.message).toContain('token is kept');
  });
});
