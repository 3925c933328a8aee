import { L402Error } from '@l402kit/core';

/** A paywall option that cannot work (short root key, wallet without invoices, bad price). */
export class PaywallConfigError extends L402Error {
  override readonly code = 'PAYWALL_CONFIG';
}
