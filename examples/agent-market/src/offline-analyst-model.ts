import {
  BaseChatModel,
  type BaseChatModelParams,
  type BindToolsInput,
} from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { messageText, readTranscript } from '@l402kit/example-research-agent';

/**
 * The analyst's model when no API key is set: a LangChain chat model that reads the
 * conversation each turn and decides, from the tool results alone, what to do next: compare
 * the sellers' offers, buy the cheapest that fits, retry a purchase the seller failed to
 * deliver (the token is kept, so it costs nothing), try the next offer after a refusal, then
 * answer from the report it bought.
 */
export class OfflineAnalystModel extends BaseChatModel {
  constructor(params: BaseChatModelParams = {}) {
    super(params);
  }

  _llmType(): string {
    return 'l402kit-offline-analyst';
  }

  override bindTools(_tools: BindToolsInput[]) {
    return this;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const message = nextStep(messages);
    const text = typeof message.content === 'string' ? message.content : '';
    return { generations: [{ message, text }] };
  }
}

function nextStep(messages: BaseMessage[]): AIMessage {
  const { question, calls } = readTranscript(messages);
  const system = messages.find((message) => message.getType() === 'system');
  const prompt = system === undefined ? '' : messageText(system);
  const minQuality = Number(/quality of at least (\d)/.exec(prompt)?.[1] ?? 1);
  const turn = messages.filter((message) => AIMessage.isInstance(message)).length;
  const call = (name: string, args: Record<string, unknown>, thought: string) =>
    new AIMessage({
      content: thought,
      tool_calls: [{ id: `analyst_${turn}`, name, args, type: 'tool_call' }],
    });

  const comparison = calls.findLast((each) => each.name === 'compare_offers');
  if (comparison?.result === undefined) {
    return call(
      'compare_offers',
      { need: question, kind: 'research-report', minQuality },
      'First I compare what the sellers ask for a report on this question.',
    );
  }
  const buys = calls.filter((each) => each.name === 'buy_offer');
  const delivered = buys.find((each) => each.result?.startsWith('HTTP 200'));
  if (delivered !== undefined) return new AIMessage(answerFrom(question, delivered.result!));

  const offers = [...comparison.result.matchAll(/^- (offer-\d+): /gm)].map((match) => match[1]!);
  const last = buys.at(-1);
  // Paid but not delivered: the token is kept, so one retry of the same offer costs nothing.
  if (last !== undefined && /PAID_NOT_DELIVERED|costs nothing/.test(last.result ?? '')) {
    const tries = buys.filter((each) => each.args.offerId === last.args.offerId).length;
    if (tries < 2) {
      return call(
        'buy_offer',
        { offerId: last.args.offerId },
        'The seller took the payment but did not deliver; the token is kept, so I retry at no cost.',
      );
    }
  }
  const tried = new Set(buys.map((each) => each.args.offerId));
  const next = offers.find((offer) => !tried.has(offer));
  if (next !== undefined) {
    return call(
      'buy_offer',
      { offerId: next },
      tried.size === 0
        ? `${next} is the cheapest offer that meets the quality I need and fits my budget; I buy it.`
        : `That purchase did not work out; I try the next offer, ${next}.`,
    );
  }
  return new AIMessage(
    `I could not buy a report on "${question}" within my budget and caps, so I have no sourced answer.`,
  );
}

/** The answer, from the report between the untrusted-content lines of buy_offer's result. */
function answerFrom(question: string, result: string): string {
  const body =
    /--- BEGIN UNTRUSTED CONTENT (\w+) ---\n([\s\S]*?)\n--- END UNTRUSTED CONTENT \1 ---/.exec(
      result,
    )?.[2];
  try {
    const report = JSON.parse(body ?? '') as {
      seller: string;
      provider: string;
      findings: Array<{ title: string; summary: string }>;
    };
    const findings = report.findings.map((finding, index) => `- ${finding.summary} [${index + 1}]`);
    const sources = report.findings.map(
      (finding, index) => `[${index + 1}] "${finding.title}" (${report.provider})`,
    );
    return [
      `Answer to "${question}", from the report I bought from ${report.seller}:`,
      ...findings,
      '',
      'Sources (bought by the seller):',
      ...sources,
    ].join('\n');
  } catch {
    return `I bought a report on "${question}" but could not read it.`;
  }
}
