import { createL402AiSdkTools, l402ToolsContext } from '@l402kit/ai-sdk';
import { generateText, isStepCount } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { startSandboxShop } from './paywall.ts';

const shop = await startSandboxShop();
const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};
let step = 0;
const model = new MockLanguageModelV4({
  doGenerate: async () =>
    step++ === 0
      ? {
          content: [
            {
              type: 'tool-call',
              toolCallId: 'call-1',
              toolName: 'l402_fetch',
              input: JSON.stringify({ url: shop.url }),
            },
          ],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage,
          warnings: [],
        }
      : {
          content: [{ type: 'text', text: 'done' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage,
          warnings: [],
        },
});
const run = shop.budget.child({ name: 'run 1', maxSats: 300 });
const result = await generateText({
  model,
  tools: createL402AiSdkTools(shop.paidFetch),
  toolsContext: l402ToolsContext(run),
  stopWhen: isStepCount(8),
  prompt: `Get the report at ${shop.url}`,
});
await shop.check('ai-sdk', JSON.stringify(result.steps.flatMap((s) => s.toolResults)));
await shop.close();
