// A full garbage collection on demand, without requiring `node --expose-gc` on every command line
// that starts the server (npm start, a container, a service unit). V8 installs `gc` in contexts
// created after the flag is set, and that function collects the whole isolate.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

export type FullGc = () => void;

export function fullGc(): FullGc {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return () => (exposed as () => void)();
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => gc();
}
