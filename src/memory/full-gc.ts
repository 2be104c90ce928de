// A full garbage collection on demand, without requiring `node --expose-gc` on every command line
// that starts the server (npm start, a container, a service unit). V8 installs `gc` in contexts
// created after the flag is set, and that function collects the whole isolate.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

export type FullGc = () => void;

let found: FullGc | null = null;

/** The isolate's `gc`, found once per process (every app built in it shares the one function). */
export function fullGc(): FullGc {
  if (found !== null) return found;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    found = exposed as FullGc;
  } else {
    v8.setFlagsFromString('--expose-gc');
    found = runInNewContext('gc') as FullGc;
  }
  return found;
}
