export { l402ApprovalRequest, l402DeclineMessage } from './approvals.js';
export {
  createL402OpenAIAgentsTools,
  type L402OpenAIAgentsToolsOptions,
} from './create-openai-agents-tools.js';
