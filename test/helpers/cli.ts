// Runs the real, built `extrepo` binary (node dist/cli/main.js) as a child process, the way a user
// or a script does: no terminal, its own HOME (so its profile file is the test's), its exit code.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed (stdin is always a pipe, never a terminal). */
  input?: string;
  cwd?: string;
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestMtime(full) : (await stat(full)).mtimeMs);
  }
  return newest;
}

/** The tests run what `npm run build` made; a dist older than src/ would test yesterday's code. */
export async function assertBuildIsFresh(): Promise<void> {
  const built = await stat(CLI_MAIN).catch(() => null);
  const sources = await newestMtime(path.join(ROOT, 'src'));
  if (built === null || built.mtimeMs + 1000 < sources) {
    throw new Error(`${CLI_MAIN} is missing or older than src/: run \`npm run build\` first (npm test does)`);
  }
}

/** A home directory of its own for one test's CLI runs (profiles land in <home>/.config/extrepo). */
export class CliHome {
  private constructor(readonly dir: string) {}

  static async create(): Promise<CliHome> {
    return new CliHome(await mkdtemp(path.join(os.tmpdir(), 'extrepo-cli-home-')));
  }

  get configFile(): string {
    return path.join(this.dir, '.config', 'extrepo', 'config.json');
  }

  private environment(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: this.dir, NO_COLOR: '1' };
    for (const name of Object.keys(env)) if (name.startsWith('EXTREPO_') || name === 'XDG_CONFIG_HOME') delete env[name];
    for (const [name, value] of Object.entries(extra)) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    return env;
  }

  /** Starts the CLI and leaves it running (for tests that signal it). */
  spawn(args: string[], options: CliRunOptions = {}): ChildProcessWithoutNullStreams {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd: options.cwd ?? this.dir,
      env: this.environment(options.env),
      stdio: 'pipe',
    });
    child.stdin.end(options.input ?? '');
    return child;
  }

  run(args: string[], options: CliRunOptions = {}): Promise<CliResult> {
    const child = this.spawn(args, options);
    return collect(child);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function collect(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Resolves once the child's stderr has printed a line matching `pattern`. */
export function waitForStderr(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        child.stderr.off('data', onData);
        resolve();
      }
    };
    child.stderr.on('data', onData);
    child.once('close', () => reject(new Error(`the CLI exited before printing ${pattern}; stderr:\n${seen}`)));
  });
}
