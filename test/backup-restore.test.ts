// extrepo-test-backends: own
// `npm run backup` and `npm run restore` of the embedded store (SQLite + files), as operators run
// them: an online backup taken from a running server under write load (creates, uploads, new files
// and deletes in parallel) restores into a fresh data dir where a new server serves every row of the
// backup and every file with its sha256; restore refuses a data dir in use, backup a non-empty target.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { zipOf } from './helpers/archives.js';
import { startInstance, type Instance } from './helpers/instance.js';

const run = promisify(execFile);
const EXT = '/api/v1/deployments/extensions';
const ADMIN_KEY = 'backup-admin-key-0123456789abcdef';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let root: string;
const instances: Instance[] = [];

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'extrepo-backup-'));
});
after(async () => {
  await Promise.allSettled(instances.map((instance) => instance.stop()));
  await rm(root, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<Instance> {
  const instance = await startInstance({ EXTREPO_DATA_DIR: dataDir, EXTREPO_ADMIN_API_KEY: ADMIN_KEY, EXTREPO_LOG_LEVEL: 'info' });
  instances.push(instance);
  return instance;
}

async function call(instance: Instance, method: string, apiPath: string, init: { json?: unknown; body?: Buffer; key?: string } = {}) {
  const headers: Record<string, string> = { authorization: `ApiKey ${init.key ?? ADMIN_KEY}` };
  let body: BodyInit | undefined;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  } else if (init.body !== undefined) {
    body = init.body as unknown as BodyInit;
    headers['content-type'] = 'application/zip';
  }
  const response = await fetch(instance.url + apiPath, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** `npm run <script> -- <args>` with EXTREPO_DATA_DIR; resolves to the exit code and output. */
async function npmRun(script: string, args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', script, '--', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? root, EXTREPO_DATA_DIR: dataDir },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Every row of every table, in a stable order, for comparing two databases. */
function allRows(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      .pluck()
      .all() as string[];
    return Object.fromEntries(tables.map((table) => [table, db.prepare(`SELECT * FROM "${table}" ORDER BY 1, 2`).raw().all()]));
  } finally {
    db.close();
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}

describe('online backup and restore of the embedded store', () => {
  test('a backup taken under write load restores into a fresh data dir that serves every row and every file', async () => {
    const live = path.join(root, 'live');
    const backup = path.join(root, 'backup');
    const restored = path.join(root, 'restored');
    const server = await start(live);

    // Before the backup: a user with an API key, and extensions with files.
    assert.equal(
      (
        await call(server, 'POST', '/api/v1/users', {
          json: { user_name: 'ops', security: { roles: ['ece_deployment_manager'], password: 'a long passphrase' } },
        })
      ).status,
      200,
    );
    const opsKey = await fetch(`${server.url}/api/v1/users/auth/keys`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('ops:a long passphrase').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'before the backup' }),
    }).then((response) => response.json() as Promise<{ key: string }>);
    const before = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const zip = await zipOf({ [`file-${i}.bin`]: randomBytes(200_000) }, { compress: false });
      const created = await call(server, 'POST', EXT, { json: { name: `before-${i}`, version: '*', extension_type: 'bundle' } });
      assert.equal((await call(server, 'PUT', `${EXT}/${created.body.id}`, { body: zip })).status, 200);
      before.set(created.body.id, sha256(zip));
    }

    // Write load while the backup runs: creates with uploads, new files for existing extensions, deletes.
    let loading = true;
    let changes = 0;
    const worker = async (n: number) => {
      const mine: string[] = [];
      while (loading) {
        const zip = await zipOf({ 'load.bin': randomBytes(100_000 + Math.floor(Math.random() * 200_000)) }, { compress: false });
        const created = await call(server, 'POST', EXT, { json: { name: `load-${n}`, version: '*', extension_type: 'bundle' } });
        assert.equal((await call(server, 'PUT', `${EXT}/${created.body.id}`, { body: zip })).status, 200);
        mine.push(created.body.id);
        if (mine.length % 3 === 0) assert.equal((await call(server, 'DELETE', `${EXT}/${mine.shift()}`)).status, 200);
        else if (mine.length > 1) {
          const replaced = await zipOf({ 'new.bin': randomBytes(50_000) }, { compress: false });
          assert.equal((await call(server, 'PUT', `${EXT}/${mine[0]}`, { body: replaced })).status, 200);
        }
        changes += 1;
      }
    };
    const load = Promise.all([worker(1), worker(2), worker(3)]);
    while (changes < 6) await new Promise((resolve) => setTimeout(resolve, 20));
    const made = await npmRun('backup', [backup], live);
    const changesDuringBackup = changes;
    while (changes < changesDuringBackup + 6) await new Promise((resolve) => setTimeout(resolve, 20));
    loading = false;
    await load;
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /made by the running server/);
    const manifest = JSON.parse(made.stdout) as { blobs: number; rows: Record<string, number> };
    assert.ok(manifest.rows.extensions! >= 5 && manifest.blobs >= 5);
    assert.equal(await server.stop(), 0);

    // Every file in the backup is the bytes its name says.
    const backupBlobs = (await filesUnder(path.join(backup, 'blobs'))).filter((file) => /[0-9a-f]{64}$/.test(file));
    assert.equal(backupBlobs.length, manifest.blobs);
    for (const file of backupBlobs) assert.equal(sha256(await readFile(file)), path.basename(file));

    const restoredRun = await npmRun('restore', [backup], restored);
    assert.equal(restoredRun.code, 0, restoredRun.stderr);
    assert.match(restoredRun.stderr, /sha256 verified/);
    assert.deepEqual(allRows(path.join(restored, 'extrepo.sqlite3')), allRows(path.join(backup, 'extrepo.sqlite3')), 'every row restored');

    // A server on the restored data dir serves every extension of the backup with its exact file.
    const fresh = await start(restored);
    const rows = allRows(path.join(backup, 'extrepo.sqlite3'));
    const db = new Database(path.join(backup, 'extrepo.sqlite3'), { readonly: true });
    const extensions = db.prepare('SELECT id, file_sha256, file_size FROM extensions').all() as Array<{
      id: string;
      file_sha256: string | null;
      file_size: number | null;
    }>;
    db.close();
    assert.equal(extensions.length, rows.extensions!.length);
    for (const id of before.keys())
      assert.ok(
        extensions.some((row) => row.id === id),
        `extension ${id} from before the backup`,
      );
    for (const row of extensions) {
      const read = await call(fresh, 'GET', `${EXT}/${row.id}`);
      assert.equal(read.status, 200);
      if (row.file_sha256 === null) continue;
      const link = new URL(read.body.file_metadata.url as string);
      const file = Buffer.from(await (await fetch(fresh.url + link.pathname + link.search)).arrayBuffer());
      assert.equal(file.length, row.file_size);
      assert.equal(sha256(file), row.file_sha256);
      if (before.has(row.id)) assert.equal(row.file_sha256, before.get(row.id));
    }
    // Credentials came back too: the key made before the backup still signs its user in.
    const whoami = await call(fresh, 'GET', '/api/v1/users/auth', { key: opsKey.key });
    assert.equal(whoami.status, 200);
    assert.equal(whoami.body.user_name, 'ops');
    assert.equal(await fresh.stop(), 0);
  });

  test('restore refuses a data dir that is not empty, and backup a target that is not empty', async () => {
    const live = path.join(root, 'second');
    const server = await start(live);
    await call(server, 'POST', EXT, { json: { name: 'x', version: '*', extension_type: 'bundle' } });
    const target = path.join(root, 'occupied');
    await mkdir(target);
    await writeFile(path.join(target, 'something'), 'mine');
    const refusedBackup = await npmRun('backup', [target], live);
    assert.equal(refusedBackup.code, 1);
    assert.match(refusedBackup.stderr, /is not empty/);
    assert.equal(await server.stop(), 0);

    // With no server running, the command makes the backup itself.
    const offline = path.join(root, 'offline-backup');
    const made = await npmRun('backup', [offline], live);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /made directly/);

    const refusedRestore = await npmRun('restore', [offline], live);
    assert.equal(refusedRestore.code, 1);
    assert.match(refusedRestore.stderr, /EXTREPO_DATA_DIR=.* is not empty/);
    const notABackup = await npmRun('restore', [target], path.join(root, 'never'));
    assert.equal(notABackup.code, 1);
    assert.match(notABackup.stderr, /holds no complete extrepo backup/);
  });

  test('backup and restore print their usage with --help, and backup refuses a data dir without a database', async () => {
    for (const script of ['backup', 'restore']) {
      const help = await npmRun(script, ['--help'], root);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^Usage: .*npm run ${script}`));
    }
    const missing = await npmRun('backup', [path.join(root, 'nowhere-backup')], path.join(root, 'no-such-dir'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /holds no extrepo database/);
  });
});
