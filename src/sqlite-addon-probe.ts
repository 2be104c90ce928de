// Refuses to start the embedded store on a better-sqlite3 build that Node 24 would abort.
//
// Node 24.19 changed the inline `node::ObjectWrap` of its headers (nodejs/node#65446): an addon
// compiled against 24.19+ headers whose classes derive from it (better-sqlite3 12's Database and
// Statement do) aborts the whole process with `Assertion failed: (env) != nullptr` the first time a
// garbage collection frees one of them — minutes after start, in the middle of an upload. The same
// addon compiled against 24.18.1 headers runs cleanly on every 24.x runtime. Whether this build is
// affected cannot be read from the binary, so a child process tries it: it frees statements and a
// database and collects them. That costs about 0.1 s, once per start, and only on Node 24 or later.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { StartupError } from './startup-errors.js';

const PROBE = `
const Database = require(process.argv[1]);
for (let round = 0; round < 3; round++) {
  const db = new Database(':memory:');
  for (let i = 0; i < 200; i++) db.prepare('SELECT ' + i).get();
  db.close();
  globalThis.gc();
}
`;

/** True on the Node.js majors whose headers can produce an addon that aborts on garbage collection. */
export function needsProbe(nodeVersion: string = process.versions.node): boolean {
  return Number(nodeVersion.split('.')[0]) >= 24;
}

/** What a probe's exit means: null when the addon is safe, otherwise why the start is refused. */
export function probeVerdict(status: number | null, signal: NodeJS.Signals | null, stderr: string): StartupError | null {
  if (status === 0) return null;
  const aborted = signal === 'SIGABRT' || status === 134 || /RemoveEnvironmentCleanupHook/.test(stderr);
  if (aborted) {
    return new StartupError(
      `EXTREPO_DATABASE_URL is unset, so the embedded SQLite store is used, but this better-sqlite3 build aborts Node.js ${process.versions.node} ` +
        `on garbage collection (it was compiled against Node 24.19+ headers, nodejs/node#65446): rebuild it against Node 24.18.1 headers ` +
        `(docs/deployment.md, "Node.js versions"), run on Node 22, or use PostgreSQL (EXTREPO_DATABASE_URL)`,
    );
  }
  const firstLine = stderr.split('\n').find((line) => line.trim() !== '') ?? `exit status ${status ?? signal}`;
  return new StartupError(
    `the embedded SQLite store cannot be loaded (better-sqlite3: ${firstLine.trim()}): reinstall with npm ci on this Node.js version`,
  );
}

/** Throws a StartupError when the installed better-sqlite3 would abort this Node.js; a no-op before Node 24. */
export function probeSqliteAddon(options: { force?: boolean; script?: string } = {}): void {
  if (!options.force && !needsProbe()) return;
  const addon = createRequire(import.meta.url).resolve('better-sqlite3');
  const child = spawnSync(process.execPath, ['--expose-gc', '-e', options.script ?? PROBE, addon], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 30_000,
  });
  const verdict = probeVerdict(child.status, child.signal, child.stderr ?? '');
  if (verdict) throw verdict;
}
