export {
  createL402OpenAIAgentsTools,
  type L402OpenAIAgentsToolsOptions,
} from './create-openai-agents-tools.js';
