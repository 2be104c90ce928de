// glibc's malloc_trim(0), from the project's own Node-API addon (src/native/malloc-trim.c, built by
// `npm ci` through binding.gyp). The addon is optional: installed with --ignore-scripts, or on a
// machine without a compiler, the server runs as before and only keeps its idle memory.
import { createRequire } from 'node:module';

export type MallocTrim = () => boolean;

// dist/memory/ and src/memory/ are both two levels below the package root, where build/ is.
const ADDON = '../../build/Release/malloc_trim.node';

/** The trim function, or the reason it is not available. */
export function loadMallocTrim(): { trim: MallocTrim } | { unavailable: string } {
  try {
    const addon = createRequire(import.meta.url)(ADDON) as { trim?: unknown };
    if (typeof addon.trim !== 'function') return { unavailable: `${ADDON} has no trim function` };
    return { trim: addon.trim as MallocTrim };
  } catch (error) {
    return { unavailable: (error as Error).message.split('\n')[0] ?? String(error) };
  }
}
