import { formatMsat, type Msat } from '@l402kit/core';

export interface ReceiptLine {
  /** What was bought, e.g. an article title. */
  item: string;
  url: string;
  amountMsat: Msat;
  feeMsat: Msat;
  paymentHash: string;
}

export interface Receipt {
  lines: ReceiptLine[];
  /** Amounts plus fees. */
  totalMsat: Msat;
  feesMsat: Msat;
  budgetMsat: Msat;
  remainingMsat: Msat;
  /** Present when the wallet reports its balance. */
  balanceBeforeMsat?: Msat;
  balanceAfterMsat?: Msat;
}

export function createReceipt(
  lines: ReceiptLine[],
  budget: { limitMsat: Msat; remainingMsat: Msat },
  balances: { before?: Msat; after?: Msat } = {},
): Receipt {
  const receipt: Receipt = {
    lines,
    totalMsat: lines.reduce((sum, line) => sum + line.amountMsat + line.feeMsat, 0n),
    feesMsat: lines.reduce((sum, line) => sum + line.feeMsat, 0n),
    budgetMsat: budget.limitMsat,
    remainingMsat: budget.remainingMsat,
  };
  if (balances.before !== undefined) receipt.balanceBeforeMsat = balances.before;
  if (balances.after !== undefined) receipt.balanceAfterMsat = balances.after;
  return receipt;
}

/** A plain-text receipt: one line per payment, then the totals and the wallet's change. */
export function formatReceipt(receipt: Receipt): string {
  const rows = receipt.lines.map((line, index) => [
    String(index + 1),
    line.item.length > 58 ? `${line.item.slice(0, 57)}…` : line.item,
    formatMsat(line.amountMsat),
    formatMsat(line.feeMsat),
    formatMsat(line.amountMsat + line.feeMsat),
  ]);
  const header = ['#', 'Bought', 'Price', 'Fee', 'Paid'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const render = (row: string[]) =>
    row
      .map((cell, column) =>
        column >= 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  const lines = ['Receipt'];
  if (rows.length === 0) lines.push('  Nothing was bought.');
  else lines.push(`  ${render(header)}`, ...rows.map((row) => `  ${render(row)}`));
  lines.push(
    `  Total paid: ${formatMsat(receipt.totalMsat)} (${formatMsat(receipt.feesMsat)} of it routing fees)`,
    `  Budget: ${formatMsat(receipt.budgetMsat)}; left: ${formatMsat(receipt.remainingMsat)}`,
  );
  if (receipt.balanceBeforeMsat !== undefined && receipt.balanceAfterMsat !== undefined) {
    lines.push(
      `  Wallet balance: ${formatMsat(receipt.balanceBeforeMsat)} -> ${formatMsat(receipt.balanceAfterMsat)} (change: ${formatMsat(receipt.balanceBeforeMsat - receipt.balanceAfterMsat)})`,
    );
  }
  return lines.join('\n');
}
