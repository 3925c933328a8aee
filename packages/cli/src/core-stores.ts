import {
  createSpendLog,
  FileTokenStore,
  type SpendLog,
  type StoredToken,
  type TokenStore,
} from '@l402kit/core';

export type { StoredToken, TokenStore };
export type { SpendLogEntry as SpendEntry } from '@l402kit/core';

/** The persistent token store shared by every `l402kit` invocation (and the MCP server). */
export function openTokenFile(path: string): TokenStore {
  return new FileTokenStore(path);
}

export function openSpendLog(path: string): SpendLog {
  return createSpendLog(path);
}
