import { formatMsat, type Msat } from '@l402kit/core';
import type { SandboxNetwork, SandboxNode } from '@l402kit/sandbox';

export interface LedgerTransfer {
  payer: string;
  payee: string;
  payments: number;
  amountMsat: Msat;
  feeMsat: Msat;
}

export interface LedgerBalance {
  name: string;
  beforeMsat: Msat;
  afterMsat: Msat;
  /** after - before */
  changeMsat: Msat;
}

export interface Ledger {
  transfers: LedgerTransfer[];
  balances: LedgerBalance[];
  /** Routing fees the network collected during the run. */
  feesMsat: Msat;
  /** Sum of every balance change plus the fees: 0 when no money appeared or vanished. */
  netMsat: Msat;
}

/** Where the network stands now: each node's balance, the fees and the payments so far. */
export interface LedgerSnapshot {
  balances: Map<string, Msat>;
  feesMsat: Msat;
  payments: number;
}

export function snapshotBalances(network: SandboxNetwork, nodes: SandboxNode[]): LedgerSnapshot {
  return {
    balances: new Map(nodes.map((node) => [node.name, node.balanceMsat])),
    feesMsat: network.feesCollectedMsat,
    payments: network.payments.length,
  };
}

/**
 * Who paid whom since the snapshot (from the network's own payment records, not from what any
 * agent reports), and each node's balance then and now.
 */
export function buildLedger(
  network: SandboxNetwork,
  nodes: SandboxNode[],
  before: LedgerSnapshot,
): Ledger {
  const transfers = new Map<string, LedgerTransfer>();
  for (const payment of network.payments.slice(before.payments)) {
    if (payment.state !== 'succeeded') continue;
    const payee = payment.payee ?? 'outside the network';
    const key = `${payment.payer}\u0000${payee}`;
    const transfer = transfers.get(key) ?? {
      payer: payment.payer,
      payee,
      payments: 0,
      amountMsat: 0n,
      feeMsat: 0n,
    };
    transfer.payments += 1;
    transfer.amountMsat += payment.amountMsat;
    transfer.feeMsat += payment.feeMsat;
    transfers.set(key, transfer);
  }
  const balances = nodes.map((node) => {
    const beforeMsat = before.balances.get(node.name) ?? 0n;
    return {
      name: node.name,
      beforeMsat,
      afterMsat: node.balanceMsat,
      changeMsat: node.balanceMsat - beforeMsat,
    };
  });
  const feesMsat = network.feesCollectedMsat - before.feesMsat;
  const netMsat = balances.reduce((sum, balance) => sum + balance.changeMsat, feesMsat);
  return { transfers: [...transfers.values()], balances, feesMsat, netMsat };
}

export function formatLedger(ledger: Ledger): string {
  const table = (header: string[], rows: string[][], numeric: number) => {
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => row[column]!.length)),
    );
    const render = (row: string[]) =>
      row
        .map((cell, column) =>
          column >= numeric ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
        )
        .join('   ')
        .trimEnd();
    return [header, ...rows].map((row) => `  ${render(row)}`);
  };
  const signed = (msat: Msat) =>
    msat > 0n ? `+${formatMsat(msat)}` : msat < 0n ? `-${formatMsat(-msat)}` : formatMsat(0n);
  const lines = ['Ledger (sandbox network, from its payment records)', '', ' Who paid whom'];
  lines.push(
    ...table(
      ['payer', 'payee', 'payments', 'amount', 'routing fee'],
      ledger.transfers.map((transfer) => [
        transfer.payer,
        transfer.payee,
        String(transfer.payments),
        formatMsat(transfer.amountMsat),
        formatMsat(transfer.feeMsat),
      ]),
      2,
    ),
  );
  lines.push('', ' Balances');
  lines.push(
    ...table(
      ['agent', 'before', 'after', 'change'],
      [
        ...ledger.balances.map((balance) => [
          balance.name,
          formatMsat(balance.beforeMsat),
          formatMsat(balance.afterMsat),
          signed(balance.changeMsat),
        ]),
        ['routing fees (network)', '', '', signed(ledger.feesMsat)],
        ['sum', '', '', signed(ledger.netMsat)],
      ],
      1,
    ),
  );
  return lines.join('\n');
}
