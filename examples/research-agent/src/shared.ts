// The framework-neutral half of the research agent (planner, receipt, setup, task), shared
// with the AI SDK example without pulling in LangChain.
export { createReceipt, formatReceipt, type Receipt, type ReceiptLine } from './receipt.js';
export {
  type Candidate,
  type PlannerOptions,
  type PlannerStep,
  planNextStep,
  type ResearchTranscript,
  type ToolCallRecord,
} from './research-planner.js';
export {
  prepareResearchSetup,
  type ResearchSetup,
  type ResearchSetupOptions,
} from './research-setup.js';
export {
  balanceOf,
  createResearchFetch,
  DEFAULT_QUESTION,
  describePurchase,
  researchSystemPrompt,
} from './research-task.js';
