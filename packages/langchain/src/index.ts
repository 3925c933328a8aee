export type { L402ApprovalDecision, L402ApprovalInterrupt } from './ask-person.js';
export {
  createL402LangChainTools,
  type L402LangChainToolsOptions,
} from './create-langchain-tools.js';
export { L402Toolkit } from './l402-toolkit.js';
