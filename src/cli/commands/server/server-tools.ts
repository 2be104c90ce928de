// extrepo serve | migrate | gc: the server side, run from the compiled JavaScript in dist/ with the
// same environment (src/config.ts). `serve` runs the server in this process; migrate and gc run
// as a child process (they read their own argv) and their exit code becomes ours.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServeOptions {
  host?: string;
  port?: string;
  dataDir?: string;
}

export async function runServe(options: ServeOptions): Promise<void> {
  if (options.host !== undefined) process.env.EXTREPO_HOST = options.host;
  if (options.port !== undefined) process.env.EXTREPO_PORT = options.port;
  if (options.dataDir !== undefined) process.env.EXTREPO_DATA_DIR = options.dataDir;
  // dist/main.js starts the server on import and owns the process from here (signals, exit).
  await import('../../../main.js');
}

/** Runs dist/tools/<name>.js with these arguments; resolves to its exit code. */
export function runTool(name: 'migrate' | 'gc', args: string[]): Promise<number> {
  const script = fileURLToPath(new URL(`../../../tools/${name}.js`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', script, ...args], { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 128 + 2 : 1));
    });
  });
}
