import { parseArgs } from 'node:util';
import { formatMsat } from '@l402kit/core';
import { DEFAULT_QUESTION, formatReceipt } from '@l402kit/example-research-agent/shared';
import { runResearch } from './run-research.js';

// `pnpm demo -- --budget-sats 20` passes the `--` through; read past it.
const { values } = parseArgs({
  args: process.argv.slice(2).filter((argument) => argument !== '--'),
  options: {
    question: { type: 'string', short: 'q', default: DEFAULT_QUESTION },
    'budget-sats': { type: 'string', short: 'b', default: '60' },
    'api-url': { type: 'string' },
  },
});
const budgetSats = Number(values['budget-sats']);
if (!Number.isFinite(budgetSats) || budgetSats < 0) {
  console.error('--budget-sats must be a number of sats');
  process.exit(2);
}
console.log(`Question: ${values.question}\nBudget: ${budgetSats} sats\n`);
try {
  const result = await runResearch({
    question: values.question,
    budgetSats,
    apiUrl: values['api-url'],
    onProgress: (event) => {
      if (event.type === 'tool-call') {
        const url = (event.input as { url?: unknown } | undefined)?.url;
        console.log(`-> ${event.name}${typeof url === 'string' ? ` ${url}` : ''}`);
      } else {
        console.log(
          `   paid ${formatMsat(event.amountMsat)} + ${formatMsat(event.feeMsat)} fee for ${event.item}`,
        );
      }
    },
  });
  console.log(`\n${result.report}\n\n${formatReceipt(result.receipt)}`);
} catch (error) {
  console.error(`ai-sdk-agent: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
