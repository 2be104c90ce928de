// The stores an extrepo under test runs on. `local` is the default (SQLite + blob files in its data
// dir); `postgres-s3` is the scale-out mode, on a throwaway PostgreSQL 15 cluster and an s3rver that
// bench/services.ts runs in a process of its own for the duration of the run. Each extrepo the bench
// starts gets stores of its own (a fresh database and key prefix), so the listing counts stay exact.
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { readCpuSeconds, registerCleanup } from './process.js';
import type { StorageInfo } from './services.js';

export const BACKENDS = ['local', 'postgres-s3'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface Backend {
  name: BackendName;
  /** One line for the report: what the stores are. */
  description: string;
  /** Environment for one more extrepo with stores of its own. */
  freshStores(label: string): Promise<Record<string, string>>;
  /** Lines for the report's notes (e.g. the storage servers' CPU time), read at the end of the run. */
  notes(): string[];
  /** The pids to list in the log (the smoke test checks that they are gone afterwards). */
  pids: number[];
  /** Stops and removes the storage servers (cleanupAll() does it too, if the run ends early). */
  stop(): Promise<void>;
  /** postgres-s3: s3rver's own directory, for cases that fill the bucket directly (startup-gc). */
  s3Directory?: string;
}

export const LOCAL_BACKEND: Backend = {
  name: 'local',
  description: 'local: SQLite + blob files in the data dir (the default)',
  freshStores: async () => ({}),
  notes: () => [],
  pids: [],
  stop: async () => undefined,
};

const START_TIMEOUT_MS = 120_000;
/** How long an orderly stop (pg_ctl stop, s3rver close, rm -r) may take before signals follow. */
const STOP_GRACE_MS = 30_000;

/** The storage servers' child process and how to stop it. */
class StorageProcess {
  private exited: Promise<void>;
  private exitCode: number | null | undefined;
  private stopping: Promise<void> | null = null;
  private stderr = '';

  constructor(
    readonly child: ChildProcess,
    private readonly log: (message: string) => void,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        if (this.stopping === null) {
          this.log(`storage: the storage servers' process ended unexpectedly (code ${String(this.exitCode)}):\n${this.stderr}`);
        }
        resolve();
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-8000);
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  get code(): number | null | undefined {
    return this.exitCode;
  }

  get output(): string {
    return this.stderr;
  }

  /** Closing stdin asks for an orderly stop; SIGTERM does too; SIGKILL only if both are ignored. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.running) return;
      this.child.stdin?.end();
      const term = setTimeout(() => this.signal('SIGTERM'), STOP_GRACE_MS);
      const kill = setTimeout(() => this.signal('SIGKILL'), STOP_GRACE_MS * 2);
      await this.exited;
      clearTimeout(term);
      clearTimeout(kill);
    })();
    return this.stopping;
  }

  /** At process exit: the stdin pipe closes with us, and the child then stops everything by itself. */
  stopSync(): void {
    this.child.stdin?.destroy();
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      this.child.kill(signal);
    } catch {
      // gone already
    }
  }

  /** Resolves with the first stdout line, or rejects if the process ends (or takes too long) first. */
  firstLine(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error(`the storage servers did not start within ${timeoutMs} ms:\n${this.stderr}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const newline = buffered.indexOf('\n');
        if (newline < 0) return;
        clearTimeout(timer);
        this.child.stdout?.off('data', onData);
        resolve(buffered.slice(0, newline));
      };
      this.child.stdout?.on('data', onData);
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the storage servers exited (code ${String(this.exitCode)}) before starting:\n${this.stderr}`));
      });
    });
  }
}

/** The environment of the storage process: ours, with its temp files under `tempDir`. */
function servicesEnv(tempDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tempDir };
  // Always a cluster of our own, even when the test runner has pointed the tests at a shared server.
  delete env.EXTREPO_TEST_DATABASE_URL;
  return env;
}

async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Starts the throwaway PostgreSQL cluster and s3rver (bench/services.ts) and returns the backend that
 * hands out a fresh database + key prefix per extrepo. Everything is stopped and removed by
 * cleanupAll() (normal end, error, Ctrl-C) or, at worst, when this process exits and the child's stdin
 * closes.
 */
export async function startPostgresS3(tempDir: string, log: (message: string) => void): Promise<Backend> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/services.ts'], {
    cwd: process.cwd(),
    env: servicesEnv(tempDir),
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, like the servers: Ctrl-C reaches the bench, which then stops it in order.
    detached: true,
  });
  const storage = new StorageProcess(child, log);
  const unregister = registerCleanup('postgres-s3 storage', { stop: () => storage.stop(), stopSync: () => storage.stopSync() });
  const started = Date.now();
  const info = JSON.parse(await storage.firstLine(START_TIMEOUT_MS)) as StorageInfo;
  log(
    `storage: PostgreSQL 15 cluster at ${new URL(info.databaseUrl).host} and s3rver at ${info.s3.endpoint}, ` +
      `pid ${info.pid} (started in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  const cpuAtStart = readCpuSeconds(info.pid) ?? 0;
  let count = 0;
  return {
    name: 'postgres-s3',
    description:
      'postgres-s3: PostgreSQL 15 (throwaway local cluster, fsync off) + s3rver (one Node process, objects on the local disk), ' +
      'files served through extrepo links (EXTREPO_FILE_LINKS=extrepo)',
    async freshStores(label) {
      const name = `bench_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${++count}`;
      const databaseUrl = await createDatabase(info.databaseUrl, name);
      return {
        EXTREPO_DATABASE_URL: databaseUrl,
        EXTREPO_S3_BUCKET: info.s3.bucket,
        EXTREPO_S3_ENDPOINT: info.s3.endpoint,
        EXTREPO_S3_REGION: info.s3.region,
        EXTREPO_S3_FORCE_PATH_STYLE: 'true',
        EXTREPO_S3_PREFIX: `${name}/`,
        EXTREPO_FILE_LINKS: 'extrepo',
        AWS_ACCESS_KEY_ID: info.s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: info.s3.credentials.secretAccessKey,
      };
    },
    notes() {
      const cpu = readCpuSeconds(info.pid);
      return cpu === null
        ? []
        : [`s3rver (pid ${info.pid}) used ${(cpu - cpuAtStart).toFixed(1)} CPU-seconds over the whole run (PostgreSQL's own CPU is not counted).`];
    },
    pids: [info.pid],
    s3Directory: info.s3.directory,
    async stop() {
      await storage.stop();
      unregister();
      log(
        storage.code === 0
          ? `storage: stopped (pid ${info.pid}); the cluster and the s3rver files are removed`
          : `storage: the storage servers' process ended with code ${String(storage.code)}`,
      );
      if (storage.output.trim()) log(`storage: output of the storage servers:\n${storage.output.trim()}`);
    },
  };
}
