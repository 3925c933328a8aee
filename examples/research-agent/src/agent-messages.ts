import { AIMessage, type BaseMessage, ToolMessage } from '@langchain/core/messages';

// Reading a LangChain agent's stream, shared by the example agents.

/** What an agent did in one step, for a progress display. */
export type AgentStep =
  | { type: 'thought'; text: string }
  | { type: 'tool-call'; name: string; args: Record<string, unknown> }
  | { type: 'tool-result'; name: string; text: string };

/** The messages in one `updates` chunk of the agent's stream, whatever the node is called. */
export function messagesIn(update: unknown): BaseMessage[] {
  if (typeof update !== 'object' || update === null) return [];
  return Object.values(update).flatMap((value) => {
    const messages = (value as { messages?: unknown } | null)?.messages;
    return Array.isArray(messages) ? (messages as BaseMessage[]) : [];
  });
}

/** The steps one message shows: the model's thought and tool calls, or a tool's result. */
export function stepsOf(message: BaseMessage): AgentStep[] {
  if (AIMessage.isInstance(message)) {
    const calls = message.tool_calls ?? [];
    if (calls.length === 0) return [];
    const thought = messageText(message).trim();
    return [
      ...(thought ? [{ type: 'thought' as const, text: thought }] : []),
      ...calls.map((call) => ({ type: 'tool-call' as const, name: call.name, args: call.args })),
    ];
  }
  if (ToolMessage.isInstance(message)) {
    return [{ type: 'tool-result', name: message.name ?? 'tool', text: messageText(message) }];
  }
  return [];
}

/** A message's text, whether its content is a string or a list of parts. */
export function messageText(message: BaseMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content
    .map((part) => (typeof part === 'object' && 'text' in part ? String(part.text) : ''))
    .join('');
}

/** The agent's final answer: its last message without tool calls. */
export function finalAnswer(messages: BaseMessage[]): string | undefined {
  const final = messages.findLast(
    (message) => AIMessage.isInstance(message) && (message.tool_calls?.length ?? 0) === 0,
  );
  return final === undefined ? undefined : messageText(final);
}
