// glibc's malloc_trim(0), from the project's own Node-API addon (src/native/malloc-trim.c, built by
// `npm ci` through binding.gyp). The addon is optional: installed with --ignore-scripts, or on a
// machine without a compiler, the server runs as before and only keeps its idle memory.
import { loadAddonFunction } from '../native/load-addon.js';

export type MallocTrim = () => boolean;

/** The trim function, or the reason it is not available. */
export function loadMallocTrim(): { trim: MallocTrim } | { unavailable: string } {
  const loaded = loadAddonFunction<MallocTrim>('malloc_trim.node', 'trim');
  return 'fn' in loaded ? { trim: loaded.fn } : loaded;
}
