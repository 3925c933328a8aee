export { chooseModel } from './choose-model.js';
export { createOfflinePlannerModel, readPrompt } from './offline-planner-model.js';
export {
  type ResearchOptions,
  type ResearchProgress,
  type ResearchResult,
  runResearch,
} from './run-research.js';
