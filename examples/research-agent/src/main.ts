import { parseArgs } from 'node:util';
import { formatMsat } from '@l402kit/core';
import { formatReceipt } from './receipt.js';
import { DEFAULT_QUESTION, type ResearchProgress, runResearch } from './run-research.js';
import { createTerminalApprover } from './terminal-approval.js';

// `pnpm demo -- --budget-sats 20` passes the `--` through; read past it.
const { values } = parseArgs({
  args: process.argv.slice(2).filter((argument) => argument !== '--'),
  options: {
    question: { type: 'string', short: 'q', default: DEFAULT_QUESTION },
    'budget-sats': { type: 'string', short: 'b', default: '60' },
    'api-url': { type: 'string' },
    'approve-above-sats': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`Usage: research-agent [--question <text>] [--budget-sats <n>] [--api-url <url>]
                      [--approve-above-sats <n>]

--approve-above-sats <n> asks you (y/n, with amount, host and title) before each purchase
above n sats; nothing above n is bought without your yes.

Runs offline by default (sandbox Lightning network, the example research API in-process,
the offline planner model). OPENAI_API_KEY (+ OPENAI_BASE_URL, OPENAI_MODEL) uses a real
model; L402KIT_WALLET pays with a real wallet (then pass --api-url).`);
  process.exit(0);
}
const budgetSats = Number(values['budget-sats']);
if (!Number.isFinite(budgetSats) || budgetSats < 0) {
  console.error('--budget-sats must be a number of sats');
  process.exit(2);
}

const approveAbove = values['approve-above-sats'];
const approveAboveSats = approveAbove === undefined ? undefined : Number(approveAbove);
if (
  approveAboveSats !== undefined &&
  !(Number.isFinite(approveAboveSats) && approveAboveSats >= 0)
) {
  console.error('--approve-above-sats must be a number of sats');
  process.exit(2);
}

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const dim = (text: string) => (color ? `\x1b[2m${text}\x1b[22m` : text);
const bold = (text: string) => (color ? `\x1b[1m${text}\x1b[22m` : text);
const yellow = (text: string) => (color ? `\x1b[33m${text}\x1b[39m` : text);

function show(event: ResearchProgress): void {
  if (event.type === 'thought') console.log(dim(`  ${event.text}`));
  if (event.type === 'tool-call') {
    const target = typeof event.args.url === 'string' ? ` ${event.args.url}` : '';
    console.log(`-> ${event.name}${target}`);
  }
  if (event.type === 'tool-result') {
    const first = event.text.split('\n')[0] ?? '';
    const line = `<- ${event.name}: ${first}`;
    console.log(dim(`   ${line.length > 110 ? `${line.slice(0, 109)}…` : line}`));
  }
  if (event.type === 'approval') {
    console.log(dim(`   ${event.approved ? 'approved' : 'declined'} by you`));
  }
  if (event.type === 'payment') {
    console.log(
      yellow(
        `   paid ${formatMsat(event.amountMsat)} + ${formatMsat(event.feeMsat)} fee for ${event.item}`,
      ),
    );
  }
}

console.log(bold(`Question: ${values.question}`));
console.log(
  `Budget: ${budgetSats} sats${approveAboveSats === undefined ? '' : `; you approve each purchase above ${approveAboveSats} sats`}\n`,
);
const approver =
  approveAboveSats === undefined
    ? undefined
    : createTerminalApprover(process.stdin, process.stdout);
try {
  const result = await runResearch({
    question: values.question,
    budgetSats,
    apiUrl: values['api-url'],
    onProgress: show,
    ...(approver === undefined ? {} : { approveAboveSats, approve: approver.ask }),
  });
  console.log(
    dim(`\n(model: ${result.modelName}; wallet: ${result.walletName}; API: ${result.apiUrl})\n`),
  );
  console.log(result.report);
  console.log(`\n${formatReceipt(result.receipt)}`);
} catch (error) {
  console.error(`research-agent: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
} finally {
  approver?.close();
}
