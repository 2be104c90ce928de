// A real extrepo process (`node --import tsx src/main.ts`, as `npm run dev` runs it; `npm start` runs
// the same code compiled) for tests that need several instances or need to kill one: spawn, wait
// until /healthz answers, stop or kill -9.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { childDone } from './child-exit.js';

export interface Instance {
  url: string;
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9) and wait until the process is gone. */
  kill(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface InstanceOptions {
  /** Node's own options (default --no-warnings), before `--import tsx src/main.ts`. */
  nodeOptions?: string[];
}

/** Starts an instance with `env` (and its own empty data dir unless env has EXTREPO_DATA_DIR). */
export async function startInstance(env: Record<string, string>, options: InstanceOptions = {}): Promise<Instance> {
  const port = await freePort();
  // A data dir given in env is the caller's; otherwise a fresh one, removed when the process exits.
  const ownDataDir = env.EXTREPO_DATA_DIR === undefined;
  const dataDir = env.EXTREPO_DATA_DIR ?? (await mkdtemp(path.join(os.tmpdir(), 'extrepo-instance-')));
  const child = spawn(process.execPath, [...(options.nodeOptions ?? ['--no-warnings']), '--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', EXTREPO_DATA_DIR: dataDir, EXTREPO_PORT: String(port), EXTREPO_LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  // A signal counts as no exit code, as before.
  const exited = childDone(child).then((result) => (typeof result === 'number' ? result : null));
  if (ownDataDir) void exited.then(() => rm(dataDir, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  const instance: Instance = {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return instance;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await instance.kill();
  throw new Error(`extrepo did not start:\n${output}`);
}
