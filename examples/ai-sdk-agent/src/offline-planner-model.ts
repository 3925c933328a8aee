import {
  type PlannerOptions,
  planNextStep,
  type ResearchTranscript,
  type ToolCallRecord,
} from '@l402kit/example-research-agent/shared';
import { MockLanguageModelV4 } from 'ai/test';

type Prompt = Parameters<MockLanguageModelV4['doGenerate']>[0]['prompt'];

/**
 * An AI SDK language model that runs offline: `MockLanguageModelV4` from `ai/test` whose every
 * turn asks the research planner what to do next, given the question, the research API named
 * in the system prompt and the tool results so far. Prices and budget come from tool text.
 */
export function createOfflinePlannerModel(options: PlannerOptions = {}): MockLanguageModelV4 {
  let turn = 0;
  return new MockLanguageModelV4({
    provider: 'l402kit',
    modelId: 'offline-planner',
    doGenerate: async ({ prompt }) => {
      turn += 1;
      const step = planNextStep(readPrompt(prompt), options);
      const content =
        step.kind === 'call-tools'
          ? [
              { type: 'text' as const, text: step.thought },
              ...step.calls.map((call, index) => ({
                type: 'tool-call' as const,
                toolCallId: `planner_${turn}_${index}`,
                toolName: call.name,
                input: JSON.stringify(call.args),
              })),
            ]
          : [{ type: 'text' as const, text: step.text }];
      return {
        content,
        finishReason: {
          unified: step.kind === 'call-tools' ? ('tool-calls' as const) : ('stop' as const),
          raw: undefined,
        },
        usage: {
          inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: 0, text: 0, reasoning: 0 },
        },
        warnings: [],
      };
    },
  });
}

/** The question, the research API's address and the tool calls with their results. */
export function readPrompt(prompt: Prompt): ResearchTranscript {
  const calls = new Map<string, ToolCallRecord>();
  let question = '';
  let instructions = '';
  for (const message of prompt) {
    if (message.role === 'system') instructions += `${message.content}\n`;
    if (message.role === 'user') {
      const text = message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
      question ||= text;
      instructions += `${text}\n`;
    }
    if (message.role === 'assistant' || message.role === 'tool') {
      for (const part of message.content) {
        if (part.type === 'tool-call') {
          calls.set(part.toolCallId, {
            name: part.toolName,
            args: (typeof part.input === 'object' && part.input !== null
              ? part.input
              : {}) as Record<string, unknown>,
          });
        } else if (part.type === 'tool-result') {
          const call = calls.get(part.toolCallId);
          if (call === undefined) continue;
          const { output } = part;
          call.result =
            output.type === 'text' || output.type === 'error-text'
              ? output.value
              : output.type === 'json' || output.type === 'error-json'
                ? typeof output.value === 'string'
                  ? output.value
                  : JSON.stringify(output.value)
                : '';
        }
      }
    }
  }
  const apiUrl = /https?:\/\/[^\s"'<>]+/.exec(instructions)?.[0]?.replace(/[/.,)]+$/, '') ?? '';
  return { question, apiUrl, calls: [...calls.values()] };
}
