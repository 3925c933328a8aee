export { l402ApprovalRequest, l402DeclineReason } from './approvals.js';
export {
  createL402MastraTools,
  type L402MastraTool,
  type L402MastraToolsOptions,
} from './create-mastra-tools.js';
