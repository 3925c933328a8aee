import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { OfflinePlannerModel } from './offline-planner-model.js';

/**
 * A real model when OPENAI_API_KEY is set (any OpenAI-compatible server through
 * OPENAI_BASE_URL, e.g. Ollama at http://localhost:11434/v1; OPENAI_MODEL picks the model),
 * otherwise the offline model (default the research planner). The OpenAI package is only
 * loaded when it is used.
 */
export async function chooseModel(
  env: Record<string, string | undefined>,
  offline: () => BaseChatModel = () => new OfflinePlannerModel(),
): Promise<BaseChatModel> {
  if (!env.OPENAI_API_KEY) return offline();
  const { ChatOpenAI } = await import('@langchain/openai');
  return new ChatOpenAI({
    model: env.OPENAI_MODEL ?? 'gpt-4o-mini',
    apiKey: env.OPENAI_API_KEY,
    configuration: env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : undefined,
  });
}
