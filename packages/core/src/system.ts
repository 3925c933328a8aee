// Small questions to the operating system shared by the file store, its lock and the ledgers.

/** Whether a process with this pid runs on this machine (a pid of another user's counts). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return hasErrorCode(error, 'EPERM');
  }
}

/** Whether `error` is a Node system error with this code (e.g. 'ENOENT'). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
