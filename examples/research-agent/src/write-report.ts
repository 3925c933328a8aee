import { formatMsat } from '@l402kit/core';
import type { Candidate } from './research-planner.js';

export interface Purchase extends Candidate {
  body: string;
}

export interface Skipped extends Candidate {
  priceMsat: bigint;
  reason: string;
}

export interface ReportInput {
  question: string;
  purchases: Purchase[];
  skipped: Skipped[];
  budget: { leftMsat: bigint; limitMsat: bigint } | undefined;
  /** Why the research could not be done at all. */
  problem?: string;
}

/** The offline planner's answer: findings with numbered citations, then the sources. */
export function writeReport(input: ReportInput): string {
  const { question, purchases, skipped, budget } = input;
  const lines = [`# ${question}`, ''];
  if (input.problem !== undefined) lines.push(input.problem, '');
  if (purchases.length === 0) {
    lines.push(
      budget === undefined
        ? 'I bought no sources, so I have no findings to report.'
        : `With a budget of ${formatMsat(budget.limitMsat)} I could not buy any source, so I have no findings to report.`,
    );
  } else {
    lines.push('## Findings');
    purchases.forEach((purchase, index) => {
      lines.push(`- ${keySentences(purchase.body, question).join(' ')} [${index + 1}]`);
    });
    lines.push('', '## Sources bought');
    purchases.forEach((purchase, index) => {
      lines.push(
        `[${index + 1}] "${purchase.title}", ${purchase.providerName} (${purchase.priceSats} sats, quality ${purchase.quality}/5) ${purchase.url}`,
      );
    });
  }
  if (skipped.length > 0) {
    lines.push('', '## Considered, not bought');
    for (const source of skipped) {
      lines.push(
        `- "${source.title}", ${source.providerName} (${formatMsat(source.priceMsat)}): ${source.reason}.`,
      );
    }
  }
  return lines.join('\n');
}

const stopWords = new Set(
  'a an and are as at be by can do does for from how in is it its of on or that the this to what when which with'.split(
    ' ',
  ),
);

function words(text: string): Set<string> {
  return new Set(
    (text.toLowerCase().match(/[a-z0-9]+/g) ?? [])
      .filter((word) => !stopWords.has(word))
      .map((word) => (word.length > 3 && word.endsWith('s') ? word.slice(0, -1) : word)),
  );
}

/** The two sentences of a source that share the most words with the question, in text order. */
function keySentences(body: string, question: string): string[] {
  const asked = words(question);
  const sentences = body.split(/(?<=[.!?])\s+(?=[A-Z])/);
  const ranked = sentences
    .map((sentence, index) => ({
      sentence,
      index,
      overlap: [...words(sentence)].filter((word) => asked.has(word)).length,
    }))
    .sort((a, b) => b.overlap - a.overlap || a.index - b.index)
    .slice(0, 2)
    .sort((a, b) => a.index - b.index);
  return ranked.map((each) => each.sentence);
}
