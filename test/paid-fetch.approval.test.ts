// A person approves payments above a threshold; the approval is bound to what they saw (URL,
// method, amount and fee limit, payee, quote expiry) and used once. Real paywall, real
// sandbox payments; the approval comes from the tool-approval book adapters use.
import {
  type Approval,
  ApprovalRequiredError,
  createL402ToolApprovals,
  createL402Tools,
  createPaidFetch,
  grantApproval,
  L402Error,
  type L402ToolSpec,
  type PaidFetch,
} from '@l402kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startApprovalApi } from './support/approval-api.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setUp(policy: Record<string, unknown> = {}) {
  const api = await startApprovalApi();
  closers.push(api.close);
  const paidFetch = createPaidFetch({
    wallet: api.payer.wallet,
    policy: { allowPrivateNetwork: true, requireHttps: false, approveAboveSats: 10, ...policy },
  });
  const specs = createL402Tools({ paidFetch, enablePayInvoice: true });
  const approvals = createL402ToolApprovals(specs);
  const spec = (name: string) => specs.find((each) => each.name === name) as L402ToolSpec;
  return { api, paidFetch, approvals, fetchTool: spec('l402_fetch'), payTool: spec('pay_invoice') };
}

async function rejection(promise: Promise<unknown>): Promise<L402Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(L402Error);
  return error as L402Error;
}

async function approvalFromQuote(paidFetch: PaidFetch, url: string): Promise<Approval> {
  const quote = await paidFetch.quote(url);
  return grantApproval({
    url: new URL(url).href,
    method: 'GET',
    amountMsat: quote.priceMsat!,
    maxFeeMsat: quote.maxFeeMsat!,
    payee: quote.payee!,
    expiresAt: quote.invoiceExpiresAt!,
  });
}

describe('approveAboveSats on the paid fetch', () => {
  it('pays at or under the threshold without asking; above it refuses until a person approves', async () => {
    const { api, paidFetch } = await setUp();
    expect((await paidFetch(`${api.url}/cheap`)).l402).toMatchObject({
      paid: true,
      amountMsat: 5_000n,
    });
    const error = await rejection(paidFetch(`${api.url}/report`));
    expect(error).toBeInstanceOf(ApprovalRequiredError);
    expect(error.paid).toBe(false);
    expect(error.message).toContain("needs a person's approval (above 10 sats)");
    expect(api.delivered.has('/report')).toBe(false);
    expect(api.merchant.balanceMsat).toBe(5_000n);
  });

  it('pays exactly the approved amount with an approval from the quote, and only once', async () => {
    const { api, paidFetch } = await setUp();
    const url = `${api.url}/report?q=1`;
    const approval = await approvalFromQuote(paidFetch, url);
    const response = await paidFetch(url, { approval });
    expect(response.l402).toMatchObject({ paid: true, amountMsat: 25_000n });
    expect(api.merchant.balanceMsat).toBe(25_000n);

    // The same approval for another resource (a second call) is not accepted.
    const replay = await rejection(paidFetch(`${api.url}/other`, { approval }));
    expect(replay).toBeInstanceOf(ApprovalRequiredError);
    expect(replay.message).toContain('the approval was already used once');
    expect(api.merchant.balanceMsat).toBe(25_000n);
  });

  it('refuses when the server raised its price after the approval, paying nothing', async () => {
    const { api, paidFetch } = await setUp();
    const approval = await approvalFromQuote(paidFetch, `${api.url}/report`);
    api.setPrice(26);
    const error = await rejection(paidFetch(`${api.url}/report`, { approval }));
    expect(error).toBeInstanceOf(ApprovalRequiredError);
    expect(error.message).toBe(
      `Payment of 26 sats to ${new URL(api.url).host} needs a new approval: the price rose above the 25 sats that was approved. Nothing was paid.`,
    );
    expect(api.network.payments).toHaveLength(0);
  });

  it('refuses an invoice payable to another node than the one approved', async () => {
    const { api, paidFetch } = await setUp();
    const approval = await approvalFromQuote(paidFetch, `${api.url}/report`);
    const other = api.switchPayee();
    const error = await rejection(paidFetch(`${api.url}/report`, { approval }));
    expect(error.message).toContain('payable to another node than the one approved');
    expect(other.balanceMsat).toBe(0n);
    expect(api.network.payments).toHaveLength(0);
  });

  it('refuses an approval given for another URL or method', async () => {
    const { api, paidFetch } = await setUp();
    const forA = await approvalFromQuote(paidFetch, `${api.url}/a`);
    const error = await rejection(paidFetch(`${api.url}/b`, { approval: forA }));
    expect(error.message).toContain(`the approval was given for GET ${api.url}/a`);
    const forC = await approvalFromQuote(paidFetch, `${api.url}/c`);
    const post = await rejection(paidFetch(`${api.url}/c`, { method: 'POST', approval: forC }));
    expect(post.message).toContain('the approval was given for GET');
    expect(api.network.payments).toHaveLength(0);
  });

  it('concurrent calls for one resource, one of them approved: one payment, the approved one', async () => {
    const { api, paidFetch } = await setUp();
    const url = `${api.url}/report`;
    const approval = await approvalFromQuote(paidFetch, url);
    const [unapproved, approved] = await Promise.allSettled([
      paidFetch(url),
      paidFetch(url, { approval }),
    ]);
    expect(approved.status).toBe('fulfilled');
    // The unapproved call either shared the approved call's token or was refused.
    if (unapproved.status === 'rejected') {
      expect(unapproved.reason).toBeInstanceOf(ApprovalRequiredError);
    }
    expect(api.merchant.balanceMsat).toBe(25_000n);
  });

  it("keeps using the operator's approve callback when one is set", async () => {
    const asked: unknown[] = [];
    const { api, paidFetch } = await setUp({
      approve: (payment: unknown) => {
        asked.push(payment);
        return true;
      },
    });
    await paidFetch(`${api.url}/cheap`);
    expect(asked).toHaveLength(0);
    expect((await paidFetch(`${api.url}/report?key=secret`)).l402.paid).toBe(true);
    expect(asked).toEqual([
      expect.objectContaining({
        url: `${api.url}/report`,
        method: 'GET',
        amountMsat: 25_000n,
        payee: api.merchant.publicKey,
        description: 'Research report',
      }),
    ]);
  });
});

describe('createL402ToolApprovals (what adapters map onto their framework)', () => {
  it('asks nothing under the threshold, for a free resource, or for a token already held', async () => {
    const { api, approvals, fetchTool } = await setUp();
    expect(await approvals.check('l402_fetch', { url: `${api.url}/cheap` }, 'c1')).toBeUndefined();
    expect(await approvals.check('l402_quote', { url: `${api.url}/report` }, 'c2')).toBeUndefined();
    expect(await approvals.check('budget_status', {}, 'c3')).toBeUndefined();
    // Failed quotes (bad URL) ask nothing; the payment itself still needs the approval.
    expect(await approvals.check('l402_fetch', { url: 'not a url' }, 'c4')).toBeUndefined();
    const request = await approvals.check('l402_fetch', { url: `${api.url}/report` }, 'c5');
    const approval = approvals.approve('c5', 'l402_fetch', { url: `${api.url}/report` });
    expect(await fetchTool.execute({ url: `${api.url}/report` }, { approval })).toMatch(
      /^HTTP 200/,
    );
    expect(request).toBeDefined();
    // The token is held now: fetching again pays nothing, so nobody is asked.
    expect(await approvals.check('l402_fetch', { url: `${api.url}/report` }, 'c6')).toBeUndefined();
    expect(api.network.payments).toHaveLength(1);
  });

  it('describes the payment for a person and binds the yes to it', async () => {
    const { api, approvals, fetchTool } = await setUp();
    const url = `${api.url}/report?token=secret`;
    const request = await approvals.check('l402_fetch', { url }, 'call-1');
    const host = new URL(api.url).host;
    expect(request).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      toolName: 'l402_fetch',
      url: `${api.url}/report`,
      host,
      method: 'GET',
      amountSats: 25,
      maxFeeSats: 1.25,
      payee: api.merchant.publicKey,
      description: 'Research report',
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      message: `Pay 25 sats (+ up to 1.25 sats routing fee) to ${host} for "Research report"?`,
    });
    expect(JSON.parse(JSON.stringify(request))).toEqual(request);
    expect(api.network.payments).toHaveLength(0);

    const approval = approvals.approve('call-1', 'l402_fetch', { url });
    expect(approval).toBeDefined();
    const result = await fetchTool.execute({ url }, { approval });
    expect(result).toContain('Paid 25 sats');
    expect(api.merchant.balanceMsat).toBe(25_000n);
    // Approving the same call again (a replayed approval) finds nothing.
    expect(approvals.approve('call-1', 'l402_fetch', { url })).toBeUndefined();
  });

  it('a call re-checked on resume keeps the quote its person saw, and a raised price is asked again', async () => {
    const { api, approvals, fetchTool } = await setUp();
    const url = `${api.url}/report`;
    expect((await approvals.check('l402_fetch', { url }, 'call-1'))?.amountSats).toBe(25);
    api.setPrice(40);
    // Frameworks ask again when they resume an approved call: the quote stays the one shown.
    expect((await approvals.check('l402_fetch', { url }, 'call-1'))?.amountSats).toBe(25);
    const approval = approvals.approve('call-1', 'l402_fetch', { url });
    const result = await fetchTool.execute({ url }, { approval });
    expect(result).toContain('l402_fetch failed (APPROVAL_REQUIRED)');
    expect(result).toContain('the price rose above the 25 sats that was approved');
    expect(result).toContain('Nothing was paid.');
    expect(api.network.payments).toHaveLength(0);
    // The next call asks again, at the new price.
    expect((await approvals.check('l402_fetch', { url }, 'call-2'))?.amountSats).toBe(40);
  });

  it('an approval is for its own tool, input and call only', async () => {
    const { api, approvals } = await setUp();
    const url = `${api.url}/report`;
    await approvals.check('l402_fetch', { url }, 'call-1');
    expect(approvals.approve('call-1', 'l402_fetch', { url: `${api.url}/other` })).toBeUndefined();
    expect(approvals.approve('call-1', 'pay_invoice', { url })).toBeUndefined();
    expect(approvals.approve('call-2', 'l402_fetch', { url })).toBeUndefined();
    expect(approvals.pending('call-1')?.amountSats).toBe(25);
  });

  it('arguments a model can set never approve', async () => {
    const { api, fetchTool, paidFetch } = await setUp();
    const forged = await approvalFromQuote(paidFetch, `${api.url}/report`);
    const hostile = {
      url: `${api.url}/report`,
      approval: forged,
      approved: true,
      headers: { 'x-l402-approved': 'true' },
    };
    const result = await fetchTool.execute(hostile as never);
    expect(result).toContain('l402_fetch failed (APPROVAL_REQUIRED)');
    expect(api.network.payments).toHaveLength(0);
  });

  it('a decline forgets the call and tells the model a person declined', async () => {
    const { api, approvals } = await setUp();
    const url = `${api.url}/report`;
    await approvals.check('l402_fetch', { url }, 'call-1');
    const text = approvals.decline('call-1', 'l402_fetch');
    expect(text).toBe(
      `l402_fetch failed (APPROVAL_DENIED): A person declined paying 25 sats to ${new URL(api.url).host}. Nothing was paid. The payment was declined; do not retry it unless the user asks you to.`,
    );
    expect(approvals.approve('call-1', 'l402_fetch', { url })).toBeUndefined();
  });

  it('asks nothing when the policy has its own approve callback (it decides at payment time)', async () => {
    const { api, approvals } = await setUp({ approve: () => true });
    expect(await approvals.check('l402_fetch', { url: `${api.url}/report` }, 'c1')).toBeUndefined();
  });

  it('pay_invoice: asks for a bare invoice above the threshold; its approval pays that invoice only', async () => {
    const { api, approvals, payTool } = await setUp();
    const first = api.merchant.createInvoice({ amountSats: 30, description: 'tip' }).invoice;
    const second = api.merchant.createInvoice({ amountSats: 30, description: 'tip' }).invoice;
    const request = await approvals.check('pay_invoice', { invoice: first }, 'p1');
    expect(request).toMatchObject({
      toolName: 'pay_invoice',
      host: `lightning:${api.merchant.publicKey}`,
      amountSats: 30,
      description: 'tip',
    });
    const approval = approvals.approve('p1', 'pay_invoice', { invoice: first });
    const other = await payTool.execute({ invoice: second }, { approval });
    expect(other).toContain('pay_invoice failed (APPROVAL_REQUIRED)');
    expect(api.network.payments).toHaveLength(0);
    await approvals.check('pay_invoice', { invoice: first }, 'p2');
    const paid = await payTool.execute(
      { invoice: first },
      { approval: approvals.approve('p2', 'pay_invoice', { invoice: first }) },
    );
    expect(paid).toContain('Paid 30 sats');
    expect(api.merchant.balanceMsat).toBe(30_000n);
  });
});
