import { L402Error } from '@l402kit/core';
import { expect } from 'vitest';

/** The L402Error `promise` rejects with; fails the test if it resolves or throws anything else. */
export async function rejection(promise: Promise<unknown>): Promise<L402Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(L402Error);
  return error as L402Error;
}

/** How many payments of a sandbox network went through. */
export function succeeded(network: { payments: readonly { state: string }[] }): number {
  return network.payments.filter((payment) => payment.state === 'succeeded').length;
}
