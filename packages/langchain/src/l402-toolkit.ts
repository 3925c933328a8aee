import { BaseToolkit, type DynamicStructuredTool } from '@langchain/core/tools';
import {
  createL402LangChainTools,
  type L402LangChainToolsOptions,
} from './create-langchain-tools.js';

/** The l402kit tools as a LangChain toolkit: `new L402Toolkit(paidFetch).getTools()`. */
export class L402Toolkit extends BaseToolkit {
  tools: DynamicStructuredTool[];

  constructor(options: L402LangChainToolsOptions) {
    super();
    this.tools = createL402LangChainTools(options);
  }
}
