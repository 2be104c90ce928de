// Child processes and temporary files of a benchmark run: starting a server, waiting until it is
// healthy, sampling its memory, and making sure nothing outlives the run (normal end, error, Ctrl-C).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const children = new Set<ServerProcess>();
const tempDirs = new Set<string>();
/** Other things to stop (e.g. the storage servers), after the servers and before the temp dirs go. */
const cleanups = new Map<string, Cleanup>();

export interface Cleanup {
  /** Orderly stop; may take a while (e.g. stopping a PostgreSQL cluster). Must be safe to call twice. */
  stop(): Promise<void>;
  /** Last resort at process exit: synchronous, best effort. */
  stopSync(): void;
}

/** Registers something that cleanupAll() (and the exit handler) must stop; returns its unregister function. */
export function registerCleanup(name: string, cleanup: Cleanup): () => void {
  cleanups.set(name, cleanup);
  return () => {
    if (cleanups.get(name) === cleanup) cleanups.delete(name);
  };
}

/** A port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** A temporary directory that is removed when the run ends, however it ends. */
export async function makeTempDir(prefix: string, parent = os.tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(parent, prefix));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export interface StartOptions {
  name: string;
  /** The program to run (default: this Node binary). */
  command?: string;
  args: string[];
  /** Added to our own environment, or the whole environment when `replaceEnv` is set. */
  env?: Record<string, string>;
  replaceEnv?: boolean;
  port: number;
  /** Path answered with 200 once the server is ready. */
  healthPath?: string;
  timeoutMs?: number;
  /** Copy the child's output to ours as it arrives. */
  echo?: boolean;
}

const LOG_TAIL_BYTES = 64 * 1024;

export class ServerProcess {
  readonly baseUrl: string;
  private logTail = '';
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly port: number,
    echo: boolean,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    const keep = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (echo) process.stderr.write(`[${name}] ${text}`);
      this.logTail = (this.logTail + text).slice(-LOG_TAIL_BYTES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last lines the process wrote, for error messages. */
  logs(maxChars = 4000): string {
    return this.logTail.slice(-maxChars);
  }

  /** Fails with the process's output if it has died. */
  assertRunning(): void {
    if (!this.running) {
      throw new Error(`${this.name} exited unexpectedly (code ${String(this.exitCode)}):\n${this.logs()}`);
    }
  }

  /**
   * Stops the process and everything it started: a polite signal to the process group first (so
   * `--cpu-prof` gets written and the server can close cleanly), then SIGKILL after `graceMs`.
   */
  async stop(graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) {
      signalGroup(this.child, signal);
      const timer = setTimeout(() => signalGroup(this.child, 'SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Stragglers in the group (e.g. a helper the server spawned) go too.
    signalGroup(this.child, 'SIGKILL');
    children.delete(this);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Spawns a server in its own process group and waits until its health path answers 200. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const child = spawn(options.command ?? process.execPath, options.args, {
    cwd: process.cwd(),
    env: options.replaceEnv ? options.env : { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const server = new ServerProcess(options.name, child, options.port, options.echo ?? false);
  children.add(server);
  try {
    await waitForHealth(server, options.healthPath ?? '/healthz', options.timeoutMs ?? 60_000);
  } catch (error) {
    await server.stop(2000);
    throw error;
  }
  return server;
}

async function waitForHealth(server: ServerProcess, healthPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    server.assertRunning();
    try {
      const status = await probe(`${server.baseUrl}${healthPath}`);
      if (status === 200) return;
      lastProblem = `status ${status}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${server.name} did not become healthy within ${timeoutMs} ms (${lastProblem}):\n${server.logs()}`);
}

function probe(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('health probe timed out')));
    req.on('error', reject);
  });
}

/** Stops every child and removes every temporary directory. Safe to call more than once. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop(5000)));
  // Servers first: an extrepo should not lose its database while it is still running.
  await Promise.all([...cleanups.values()].map((cleanup) => cleanup.stop().catch(() => undefined)));
  cleanups.clear();
  await Promise.all([...tempDirs].map((dir) => removeTempDir(dir)));
}

/** Last resort at process exit: synchronous, so it also runs after an uncaught error. */
function cleanupSync(): void {
  for (const server of children) signalGroup(server.child, 'SIGKILL');
  children.clear();
  for (const cleanup of cleanups.values()) {
    try {
      cleanup.stopSync();
    } catch {
      // best effort
    }
  }
  cleanups.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // nothing more we can do
    }
  }
  tempDirs.clear();
}

let handlersInstalled = false;
let stopping = false;

/** True once Ctrl-C / SIGTERM arrived: errors after that are the servers going away, not findings. */
export function isStopping(): boolean {
  return stopping;
}

/** Ctrl-C / SIGTERM: stop children, remove temp files, exit 130. */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupSync);
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      cleanupSync();
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`\n${signal}: stopping servers and removing temporary files…\n`);
    cleanupAll()
      .catch(() => cleanupSync())
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * CPU time (user + system, all threads) a process has used so far, in seconds; null once it is gone.
 * Work per byte or per request is far steadier on a shared machine than wall-clock throughput.
 */
export function readCpuSeconds(pid: number): number | null {
  const split = readCpuSplit(pid);
  return split === null ? null : split.user + split.system;
}

/** User and system CPU seconds of one process (all its threads), from /proc; null once it is gone. */
export function readCpuSplit(pid: number): { user: number; system: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name (which may contain spaces) start at state, field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
}

/**
 * CPU time of every process in the process group `pgid` (a server and the workers it forked, e.g.
 * nginx's), in seconds. Processes that exited meanwhile are not counted.
 */
export function readGroupCpuSeconds(pgid: number): number | null {
  let total = 0;
  let found = false;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    found = true;
    total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  }
  return found ? total : null;
}

/** Measures the CPU seconds a process group uses while `work` runs. */
export async function withGroupCpu<T>(pgid: number, work: () => Promise<T>): Promise<{ value: T; cpuSeconds: number }> {
  const before = readGroupCpuSeconds(pgid) ?? 0;
  const value = await work();
  const after = readGroupCpuSeconds(pgid) ?? before;
  return { value, cpuSeconds: after - before };
}

/** USER_HZ: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Measures the CPU seconds a process uses while `work` runs. */
export async function withCpu<T>(pid: number, work: () => Promise<T>): Promise<{ value: T; cpuSeconds: number }> {
  const before = readCpuSeconds(pid) ?? 0;
  const value = await work();
  const after = readCpuSeconds(pid) ?? before;
  return { value, cpuSeconds: after - before };
}

export interface MemoryReading {
  rssBytes: number;
  hwmBytes: number;
}

/** Reads VmRSS and VmHWM (peak RSS) of a process from /proc; null once it is gone. */
export function readMemory(pid: number): MemoryReading | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return match?.[1] ? Number(match[1]) * 1024 : 0;
  };
  return { rssBytes: field('VmRSS'), hwmBytes: field('VmHWM') };
}

/**
 * Samples a process's RSS every `intervalMs`. Measurement windows (`begin()` … `end()`) report the
 * peak and median RSS seen while they were open.
 */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private readonly open = new Set<number[]>();
  latest: MemoryReading | null = null;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 50,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private sample(): void {
    const reading = readMemory(this.pid);
    if (reading === null) return;
    this.latest = reading;
    for (const window of this.open) window.push(reading.rssBytes);
  }

  /** Opens a window; call the returned function to close it and get the samples (bytes). */
  begin(): () => number[] {
    const window: number[] = [];
    this.open.add(window);
    this.sample();
    return () => {
      this.sample();
      this.open.delete(window);
      return window;
    };
  }
}
