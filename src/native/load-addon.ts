// Loads a function from one of the project's own Node-API addons (build/Release/*.node, built by
// `npm ci` through binding.gyp). The addons are optional: installed with --ignore-scripts, or without a
// compiler, the caller gets the reason and carries on without them.
import { createRequire } from 'node:module';

/** `name` from build/Release/`file`, or the reason it is not available. */
export function loadAddonFunction<F>(file: string, name: string): { fn: F } | { unavailable: string } {
  // dist/native/ and src/native/ are both two levels below the package root, where build/ is.
  const addon = `../../build/Release/${file}`;
  try {
    const exports = createRequire(import.meta.url)(addon) as Record<string, unknown>;
    if (typeof exports[name] !== 'function') return { unavailable: `${addon} has no ${name} function` };
    return { fn: exports[name] as F };
  } catch (error) {
    return { unavailable: (error as Error).message.split('\n')[0] ?? String(error) };
  }
}
