import { parseArgs } from 'node:util';
import { formatMsat } from '@l402kit/core';
import { formatLedger } from './ledger.js';
import { DEFAULT_QUESTION, type MarketProgress, runMarket } from './run-market.js';

// `pnpm demo:market -- --budget-sats 40` passes the `--` through; read past it.
const { values } = parseArgs({
  args: process.argv.slice(2).filter((argument) => argument !== '--'),
  options: {
    question: { type: 'string', short: 'q', default: DEFAULT_QUESTION },
    'budget-sats': { type: 'string', short: 'b', default: '60' },
    'min-quality': { type: 'string', default: '3' },
    'max-sats-per-seller': { type: 'string', default: '45' },
    'fail-first-report': { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`Usage: agent-market [--question <text>] [--budget-sats <n>] [--min-quality <1-5>]
                    [--max-sats-per-seller <n>] [--fail-first-report <seller name>]

Runs offline on the sandbox Lightning network: the paid research API, three research-agent
sellers and an analyst agent (the offline model; OPENAI_API_KEY + OPENAI_BASE_URL,
OPENAI_MODEL use a real one).`);
  process.exit(0);
}
const numberOf = (name: string, text: string) => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} must be a number`);
    process.exit(2);
  }
  return value;
};

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const dim = (text: string) => (color ? `\x1b[2m${text}\x1b[22m` : text);
const bold = (text: string) => (color ? `\x1b[1m${text}\x1b[22m` : text);

function show(event: MarketProgress): void {
  if (event.type === 'thought') console.log(dim(`  ${event.text}`));
  if (event.type === 'tool-call') console.log(`-> ${event.name} ${JSON.stringify(event.args)}`);
  if (event.type === 'tool-result') {
    for (const line of event.text.split('\n').slice(0, event.name === 'compare_offers' ? 12 : 3)) {
      console.log(dim(`   ${line.length > 118 ? `${line.slice(0, 117)}…` : line}`));
    }
  }
}

const budgetSats = numberOf('budget-sats', values['budget-sats']);
console.log(bold(`Question: ${values.question}`));
console.log(`Analyst budget: ${budgetSats} sats; quality at least ${values['min-quality']}\n`);
try {
  const result = await runMarket({
    question: values.question,
    budgetSats,
    minQuality: numberOf('min-quality', values['min-quality']),
    maxSatsPerSeller: numberOf('max-sats-per-seller', values['max-sats-per-seller']),
    failFirstReportOf: values['fail-first-report'] ?? [],
    onProgress: show,
  });
  console.log(dim(`\n(analyst model: ${result.modelName})\n`));
  console.log(result.answer);
  console.log(`\n${formatLedger(result.ledger)}`);
  const left = result.analyst.budget.remainingMsat;
  console.log(
    `\nAnalyst run budget: ${formatMsat(result.analyst.budget.limitMsat ?? 0n)}, spent ${formatMsat(result.analyst.budget.spentMsat)}, left ${formatMsat(left ?? 0n)}.`,
  );
  for (const seller of result.sellers) {
    console.log(
      `${seller.name}: sold ${seller.sold.length} report(s); spent ${formatMsat(seller.budget.spentMsat)} of its ${formatMsat(seller.budget.limitMsat ?? 0n)} budget on searches and sources.`,
    );
  }
} catch (error) {
  console.error(`agent-market: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
