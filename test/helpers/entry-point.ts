// The real entry point as a child process, for tests of how the server starts, fails and stops:
// `node --import tsx src/main.ts` (the source, as `npm run dev` runs it) or `node dist/main.js`
// (the compiled build that `npm start`, the Dockerfile and the systemd unit run).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import { after } from 'node:test';
import { childDone } from './child-exit.js';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface Child {
  process: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | string>;
}

// Every process a test file starts; a failed assertion must not leave one running.
const children = new Set<ChildProcessWithoutNullStreams>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

export type EntryPoint = 'source' | 'compiled';

/** Spawns `command args` (default: the entry point) with only PATH and `env` in its environment. */
export function spawnChild(env: Record<string, string>, command: string[] = entryPointCommand('source')): Child {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', EXTREPO_LOG_LEVEL: 'info', ...env },
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.once('exit', () => children.delete(child));
  const exited = childDone(child).then((result) => result ?? 'unknown');
  return { process: child, stdout: () => stdout, stderr: () => stderr, exited };
}

export function entryPointCommand(kind: EntryPoint): string[] {
  return kind === 'source' ? [process.execPath, '--no-warnings', '--import', 'tsx', 'src/main.ts'] : [process.execPath, 'dist/main.js'];
}

/**
 * Polls `check` until it returns true or the child exits; resolves false if the child exited first.
 * (A condition, not a duration, decides: the test's own timeout guards against a hang.)
 */
export async function waitFor(child: Child, check: () => Promise<boolean> | boolean): Promise<boolean> {
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return false;
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** True when a TCP connection to the port is accepted. */
export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts the entry point on a free port and waits until GET /healthz answers 200 (over http). */
export async function startEntryPoint(env: Record<string, string>, kind: EntryPoint = 'source'): Promise<Child & { port: number; url: string }> {
  const port = await freePort();
  const child = spawnChild({ EXTREPO_PORT: String(port), ...env }, entryPointCommand(kind));
  const url = `http://127.0.0.1:${port}`;
  const up = await waitFor(child, () =>
    fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    ),
  );
  if (!up) throw new Error(`extrepo did not start (exit ${await child.exited}):\n${child.stdout()}${child.stderr()}`);
  return { ...child, port, url };
}

/** The lines a failed start wrote to stderr, for asserting "one line, no stack trace". */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('extrepo: warning:'));
}
