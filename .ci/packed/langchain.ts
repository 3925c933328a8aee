import { createL402LangChainTools } from '@l402kit/langchain';
import { AIMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { createAgent } from 'langchain';
import { startSandboxShop } from './paywall.ts';

const shop = await startSandboxShop();
const model = fakeModel()
  .respondWithTools([{ name: 'l402_fetch', args: { url: shop.url } }])
  .respond(new AIMessage('done'));
const agent = createAgent({ model, tools: createL402LangChainTools(shop.paidFetch) });
const l402Budget = shop.budget.child({ name: 'run 1', maxSats: 300 });
const result = await agent.invoke(
  { messages: [{ role: 'user', content: `Get the report at ${shop.url}` }] },
  { context: { l402Budget } },
);
await shop.check('langchain', JSON.stringify(result.messages.map((message) => message.content)));
await shop.close();
