import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import {
  BaseChatModel,
  type BaseChatModelParams,
  type BindToolsInput,
} from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage, ToolMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { messageText } from './agent-messages.js';
import {
  type PlannerOptions,
  planNextStep,
  type ResearchTranscript,
  type ToolCallRecord,
} from './research-planner.js';

export interface OfflinePlannerModelParams extends BaseChatModelParams, PlannerOptions {}

/**
 * A LangChain chat model that runs with no network and no API key: each turn it reads the
 * conversation (the question, the research API's address in the system prompt, and every
 * tool result so far) and decides the next tool calls or writes the report. It is a planner,
 * not a script: prices, refusals and the remaining budget all come from the tool results.
 */
export class OfflinePlannerModel extends BaseChatModel {
  readonly options: OfflinePlannerModelParams;
  toolNames: string[] = [];

  constructor(options: OfflinePlannerModelParams = {}) {
    super(options);
    this.options = options;
  }

  _llmType(): string {
    return 'l402kit-offline-planner';
  }

  override bindTools(tools: BindToolsInput[]) {
    const bound = new OfflinePlannerModel(this.options);
    bound.toolNames = tools.map(toolName).filter((name): name is string => name !== undefined);
    return bound;
  }

  async _generate(
    messages: BaseMessage[],
    _options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    const step = planNextStep(readTranscript(messages), this.options);
    const missing =
      step.kind === 'call-tools'
        ? step.calls.find((call) => !this.toolNames.includes(call.name))
        : undefined;
    let message: AIMessage;
    if (missing !== undefined) {
      message = new AIMessage(`I need the ${missing.name} tool, which this agent was not given.`);
    } else if (step.kind === 'call-tools') {
      const turn = messages.filter((each) => AIMessage.isInstance(each)).length;
      message = new AIMessage({
        content: step.thought,
        tool_calls: step.calls.map((call, index) => ({
          id: `planner_${turn}_${index}`,
          name: call.name,
          args: call.args,
          type: 'tool_call' as const,
        })),
      });
    } else {
      message = new AIMessage(step.text);
    }
    const text = typeof message.content === 'string' ? message.content : '';
    await runManager?.handleLLMNewToken(text);
    return { generations: [{ message, text }] };
  }
}

/** The question (first user message), the API address (first URL in the prompt) and the calls. */
export function readTranscript(messages: BaseMessage[]): ResearchTranscript {
  const question = messageText(
    messages.find((message) => message.getType() === 'human') ?? messages[0]!,
  );
  // The system prompt names the research API; tool results (later) hold other URLs.
  const prompt = messages
    .filter((message) => ['system', 'human'].includes(message.getType()))
    .map(messageText)
    .join('\n');
  const apiUrl = /https?:\/\/[^\s"'<>]+/.exec(prompt)?.[0]?.replace(/[/.,)]+$/, '') ?? '';
  const calls = new Map<string, ToolCallRecord>();
  for (const message of messages) {
    if (AIMessage.isInstance(message)) {
      for (const call of message.tool_calls ?? []) {
        calls.set(call.id ?? `${calls.size}`, { name: call.name, args: call.args });
      }
    } else if (ToolMessage.isInstance(message)) {
      const call = calls.get(message.tool_call_id);
      if (call !== undefined) call.result = messageText(message);
    }
  }
  return { question, apiUrl, calls: [...calls.values()] };
}

function toolName(tool: BindToolsInput): string | undefined {
  const candidate = tool as { name?: unknown; function?: { name?: unknown } };
  if (typeof candidate.name === 'string') return candidate.name;
  if (typeof candidate.function?.name === 'string') return candidate.function.name;
  return undefined;
}
