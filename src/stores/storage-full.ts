// Recognising a full disk under the embedded stores: the blob directory's writes fail with ENOSPC
// (or EDQUOT, over a quota), SQLite's with SQLITE_FULL ("database or disk is full"). Errors are
// often wrapped on their way up (pipeline, store adapters), so the cause chain is searched.
import { statfs } from 'node:fs/promises';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

export function isStorageFull(error: unknown): boolean {
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && FULL_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Below this much free space the data directory counts as full for /readyz: SQLite needs room for
 * its write-ahead log, and an upload needs room for its file.
 */
export const READY_MIN_FREE_BYTES = 1024 * 1024;

/** Bytes available to this process in the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}
