export {
  type AgentStep,
  finalAnswer,
  messagesIn,
  messageText,
  stepsOf,
} from './agent-messages.js';
export { chooseModel } from './choose-model.js';
export {
  OfflinePlannerModel,
  type OfflinePlannerModelParams,
  readTranscript,
} from './offline-planner-model.js';
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
  DEFAULT_QUESTION,
  type ResearchOptions,
  type ResearchProgress,
  type ResearchResult,
  runResearch,
} from './run-research.js';
