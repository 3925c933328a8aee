import { createL402MastraTools } from '@l402kit/mastra';
import { Agent } from '@mastra/core/agent';
import { RequestContext } from '@mastra/core/request-context';
import { MastraLanguageModelV2Mock } from '@mastra/core/test-utils/llm-mock';
import { startSandboxShop } from './paywall.ts';

const shop = await startSandboxShop();
const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };
let step = 0;
const model = new MastraLanguageModelV2Mock({
  doGenerate: async () =>
    (step++ === 0
      ? {
          content: [
            {
              type: 'tool-call',
              toolCallId: 'call-1',
              toolName: 'l402_fetch',
              input: JSON.stringify({ url: shop.url }),
            },
          ],
          finishReason: 'tool-calls',
          usage,
          warnings: [],
        }
      : {
          content: [{ type: 'text', text: 'done' }],
          finishReason: 'stop',
          usage,
          warnings: [],
        }) as never,
});
const agent = new Agent({
  id: 'researcher',
  name: 'researcher',
  model,
  instructions: 'Buy the report the user asks for.',
  tools: createL402MastraTools(shop.paidFetch),
});
const requestContext = new RequestContext();
requestContext.set('l402Budget', shop.budget.child({ maxSats: 300 }));
const result = await agent.generate(`Get the report at ${shop.url}`, {
  requestContext,
  maxSteps: 5,
});
await shop.check('mastra', JSON.stringify(result.toolResults));
await shop.close();
