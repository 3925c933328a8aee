import type { LanguageModel } from 'ai';
import { createOfflinePlannerModel } from './offline-planner-model.js';

/**
 * A real model when OPENAI_API_KEY is set (OPENAI_BASE_URL for any OpenAI-compatible server,
 * OPENAI_MODEL to pick one), otherwise the offline planner. The provider is loaded only then.
 */
export async function chooseModel(env: Record<string, string | undefined>): Promise<LanguageModel> {
  if (!env.OPENAI_API_KEY) return createOfflinePlannerModel();
  const { createOpenAI } = await import('@ai-sdk/openai');
  const openai = createOpenAI({
    apiKey: env.OPENAI_API_KEY,
    ...(env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : {}),
  });
  // Chat completions: the API every OpenAI-compatible server (Ollama, vLLM, ...) speaks.
  return openai.chat(env.OPENAI_MODEL ?? 'gpt-4o-mini');
}
