import { describe, expect, it } from 'vitest';
import { ApprovalRequiredError, type L402Error } from '../errors.js';
import {
  type Approval,
  type ApprovalTerms,
  authorizePayment,
  consumeApproval,
  grantApproval,
  isUnusedApproval,
  type PaymentTerms,
} from './approval.js';
import { createPolicy } from './policy.js';

const payee = `02${'ab'.repeat(32)}`;
const otherPayee = `03${'cd'.repeat(32)}`;
const terms: ApprovalTerms = {
  url: 'https://api.example/report?q=secret-key',
  method: 'GET',
  amountMsat: 25_000n,
  maxFeeMsat: 1_250n,
  payee,
  expiresAt: new Date('2030-01-01T00:10:00Z'),
};
const payment: PaymentTerms = { ...terms, host: 'api.example' };
const before = new Date('2030-01-01T00:00:00Z').getTime();

function refusal(approval: Approval, paying: PaymentTerms, now = before): L402Error {
  try {
    consumeApproval(approval, paying, now);
  } catch (error) {
    expect(error).toBeInstanceOf(ApprovalRequiredError);
    return error as L402Error;
  }
  throw new Error('the approval was accepted');
}

describe('consumeApproval', () => {
  it('accepts the approved payment once, and a second use never', () => {
    const approval = grantApproval(terms);
    expect(isUnusedApproval(approval)).toBe(true);
    expect(() => consumeApproval(approval, payment, before)).not.toThrow();
    expect(isUnusedApproval(approval)).toBe(false);
    const replay = refusal(approval, payment);
    expect(replay.message).toContain('the approval was already used once');
    expect(replay.paid).toBe(false);
  });

  it('accepts a lower price than approved (the person agreed to at most that)', () => {
    expect(() =>
      consumeApproval(
        grantApproval(terms),
        { ...payment, amountMsat: 20_000n, maxFeeMsat: 1_200n },
        before,
      ),
    ).not.toThrow();
  });

  it.each([
    [
      'a higher price',
      { amountMsat: 25_001n },
      'the price rose above the 25 sats that was approved',
    ],
    ['a higher fee limit', { maxFeeMsat: 1_251n }, 'the routing fee limit is above'],
    ['another payee', { payee: otherPayee }, 'payable to another node than the one approved'],
    [
      'another URL',
      { url: 'https://api.example/other' },
      'was given for GET https://api.example/report',
    ],
    ['another query', { url: 'https://api.example/report?q=other' }, 'was given for GET'],
    ['another method', { method: 'POST' }, 'was given for GET'],
  ] as const)('refuses %s, paying nothing, and uses the approval up', (_label, change, reason) => {
    const approval = grantApproval(terms);
    const error = refusal(approval, { ...payment, ...change });
    expect(error.message).toContain(reason);
    expect(error.message).toContain('Nothing was paid.');
    // The query can hold secrets: never in a message.
    expect(error.message).not.toContain('secret-key');
    expect(error.toJSON()).toMatchObject({ code: 'APPROVAL_REQUIRED', paid: false });
    // Used up: the right payment cannot follow on the same approval.
    expect(refusal(approval, payment).message).toContain('already used');
  });

  it('refuses once the quote has expired', () => {
    const error = refusal(grantApproval(terms), payment, terms.expiresAt.getTime());
    expect(error.message).toContain('the approval expired at 2030-01-01T00:10:00.000Z');
  });

  it('refuses anything not made by grantApproval, such as the same fields from a tool argument', () => {
    const lookalike = JSON.parse(
      JSON.stringify({ ...terms, amountMsat: '25000', maxFeeMsat: '1250' }),
    ) as Approval;
    expect(isUnusedApproval(lookalike)).toBe(false);
    expect(refusal(lookalike, payment).message).toContain('not made by grantApproval');
    const copy = { ...grantApproval(terms) } as Approval;
    expect(refusal(copy, payment).message).toContain('not made by grantApproval');
  });

  it('is frozen: the terms a person saw cannot be changed afterwards', () => {
    const approval = grantApproval(terms);
    expect(() => {
      (approval as { amountMsat: bigint }).amountMsat = 10n ** 9n;
    }).toThrow(TypeError);
    expect(refusal(approval, { ...payment, amountMsat: 10n ** 9n }).message).toContain(
      'the price rose',
    );
  });
});

describe('authorizePayment', () => {
  const hostile = { ...payment, expiresAt: undefined, description: 'x' };

  it('needs nothing at or under the threshold', async () => {
    const policy = createPolicy({ approveAboveSats: 25 });
    await expect(authorizePayment(policy, undefined, hostile)).resolves.toBeUndefined();
  });

  it('above the threshold: a matching approval, else the callback, else APPROVAL_REQUIRED', async () => {
    const policy = createPolicy({ approveAboveSats: 24 });
    await expect(authorizePayment(policy, undefined, hostile)).rejects.toBeInstanceOf(
      ApprovalRequiredError,
    );
    const approval = grantApproval({ ...terms, expiresAt: new Date(Date.now() + 60_000) });
    await expect(authorizePayment(policy, approval, hostile)).resolves.toBeUndefined();
    await expect(authorizePayment(policy, approval, hostile)).rejects.toBeInstanceOf(
      ApprovalRequiredError,
    );

    const asked: unknown[] = [];
    const withCallback = createPolicy({
      approveAboveSats: 24,
      approve: (request) => {
        asked.push(request);
        return true;
      },
    });
    await expect(authorizePayment(withCallback, undefined, hostile)).resolves.toBeUndefined();
    // The callback sees origin and path only, with the payee and method.
    expect(asked).toEqual([
      {
        url: 'https://api.example/report',
        host: 'api.example',
        method: 'GET',
        amountMsat: 25_000n,
        maxFeeMsat: 1_250n,
        payee,
        description: 'x',
      },
    ]);
  });
});
