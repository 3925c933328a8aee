import { createL402OpenAIAgentsTools } from '@l402kit/openai-agents';
import { Agent, run, setTracingDisabled } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { startSandboxShop } from './paywall.ts';

setTracingDisabled(true);
const shop = await startSandboxShop();
const model = new ScriptedModel([
  [functionCall('l402_fetch', { url: shop.url }, { callId: 'call-1' })],
  [assistantMessage('done')],
]);
const agent = new Agent({
  name: 'researcher',
  model,
  tools: createL402OpenAIAgentsTools(shop.paidFetch),
});
const result = await run(agent, `Get the report at ${shop.url}`, {
  context: { l402Budget: shop.budget.child({ maxSats: 300 }) },
});
await shop.check('openai-agents', JSON.stringify(result.history));
await shop.close();
