// extrepo-test-backends: none
// The production entry point: `node dist/main.js` runs the compiled build without a TypeScript
// loader, stops gracefully on SIGTERM and SIGINT, and exits with documented codes; `npm start` runs
// it so that a SIGTERM sent to npm (what a supervisor running the README's command does) stops the
// server instead of leaving it running with PPID 1.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT, freePort, portOpen, spawnChild, startEntryPoint, waitFor } from './helpers/entry-point.js';

const OPTIONS = { timeout: 180_000 };
let scratch: string;

before(async () => {
  // dist/ is what `npm ci` built; rebuilding here makes the test check the current source.
  await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: REPO_ROOT,
  });
  scratch = await mkdtemp(path.join(os.tmpdir(), 'extrepo-entry-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid in the "server listening" log line (pino writes the pid into every line). */
function serverPid(stdout: string): number | null {
  const line = stdout.split('\n').find((text) => text.includes('"msg":"server listening"'));
  return line ? (JSON.parse(line) as { pid: number }).pid : null;
}

const env = (dataDir: string) => ({ EXTREPO_DATA_DIR: dataDir, EXTREPO_ADMIN_PASSWORD: 'a fine password' });

describe('node dist/main.js', () => {
  test('serves without a TypeScript loader and exits 0 on SIGTERM, port closed', OPTIONS, async () => {
    const server = await startEntryPoint(env(await mkdtemp(path.join(scratch, 'd-'))), 'compiled');
    const pid = server.process.pid!;
    assert.ok(!server.process.spawnargs.some((arg) => arg.includes('tsx')));
    const spec = await fetch(`${server.url}/api/v1/api-docs/swagger.json`).then((response) => response.json() as Promise<{ schemes: string[] }>);
    assert.deepEqual(spec.schemes, ['http']);
    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.match(server.stdout(), /"signal":"SIGTERM".*shutting down/);
    assert.ok(!alive(pid));
    assert.equal(await portOpen(server.port), false);
  });

  test('exits 0 on SIGINT (Ctrl-C) too', OPTIONS, async () => {
    const server = await startEntryPoint(env(await mkdtemp(path.join(scratch, 'd-'))), 'compiled');
    server.process.kill('SIGINT');
    assert.equal(await server.exited, 0);
    assert.equal(await portOpen(server.port), false);
  });

  test('exits 2 on an invalid configuration and 3 when a setting names something unusable', OPTIONS, async () => {
    const invalid = spawnChild({ EXTREPO_PORT: 'eighty' }, [process.execPath, 'dist/main.js']);
    assert.equal(await invalid.exited, 2);
    assert.match(invalid.stderr(), /^extrepo: cannot start: invalid configuration: EXTREPO_PORT must be a whole number/);
    const unusable = spawnChild({ EXTREPO_DATA_DIR: '/proc/nope', EXTREPO_PORT: String(await freePort()) }, [process.execPath, 'dist/main.js']);
    assert.equal(await unusable.exited, 3);
    assert.match(unusable.stderr(), /EXTREPO_DATA_DIR=\/proc\/nope/);
  });
});

describe("node dist/tools/healthcheck.js (the Dockerfile's HEALTHCHECK)", () => {
  test('exits 0 while the server answers /healthz and 1 once it is gone', OPTIONS, async () => {
    const server = await startEntryPoint(env(await mkdtemp(path.join(scratch, 'd-'))), 'compiled');
    const probe = (port: number) =>
      spawnChild({ EXTREPO_PORT: String(port), EXTREPO_HOST: '0.0.0.0' }, [process.execPath, 'dist/tools/healthcheck.js']).exited;
    assert.equal(await probe(server.port), 0);
    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.equal(await probe(server.port), 1);
  });
});

describe('SIGHUP without TLS', () => {
  test('is a reload with nothing to do: the server keeps running', OPTIONS, async () => {
    const server = await startEntryPoint(env(await mkdtemp(path.join(scratch, 'd-'))), 'compiled');
    server.process.kill('SIGHUP');
    assert.ok(await waitFor(server, () => server.stdout().includes('nothing to reload')));
    assert.equal(await fetch(`${server.url}/healthz`).then((response) => response.status), 200);
    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });
});

describe('npm start', () => {
  test('SIGTERM to npm stops the server: the process is gone and the port closed', OPTIONS, async () => {
    const port = await freePort();
    const npm = spawnChild({ ...env(await mkdtemp(path.join(scratch, 'd-'))), EXTREPO_PORT: String(port), HOME: scratch }, ['npm', 'start']);
    const listening = await waitFor(npm, () => serverPid(npm.stdout()) !== null);
    assert.ok(listening, `npm start did not start the server:\n${npm.stdout()}${npm.stderr()}`);
    const pid = serverPid(npm.stdout())!;
    assert.notEqual(pid, npm.process.pid, "the server is npm's child");
    assert.equal(await fetch(`http://127.0.0.1:${port}/healthz`).then((response) => response.status), 200);

    npm.process.kill('SIGTERM');
    await npm.exited;
    assert.match(npm.stdout(), /"signal":"SIGTERM".*shutting down/);
    assert.match(npm.stdout(), /"msg":"stopped"/);
    assert.ok(!alive(pid), `the server (pid ${pid}) is still running`);
    assert.equal(await portOpen(port), false);
  });
});
