export { l402ApprovalRequest, l402DeclineReason } from './approvals.js';
export {
  createL402AiSdkTools,
  type L402AiSdkTool,
  type L402AiSdkToolSet,
  type L402AiSdkToolsOptions,
  type L402ToolContext,
} from './create-ai-sdk-tools.js';
export { l402ToolsContext } from './tools-context.js';
