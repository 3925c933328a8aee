import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from './cli-io.js';

/** ~/.l402kit/tokens.json, or L402KIT_TOKEN_FILE. */
export function tokenFilePath(io: CliIo): string {
  return io.env.L402KIT_TOKEN_FILE || join(io.home ?? homedir(), '.l402kit', 'tokens.json');
}

/** ~/.l402kit/spend.jsonl, or L402KIT_SPEND_LOG. */
export function spendLogPath(io: CliIo): string {
  return io.env.L402KIT_SPEND_LOG || join(io.home ?? homedir(), '.l402kit', 'spend.jsonl');
}
