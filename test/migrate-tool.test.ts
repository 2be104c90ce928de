// extrepo-test-backends: own
// `npm run migrate`: an embedded installation (SQLite + files) moved to PostgreSQL + S3 serves the
// same extensions, files and keys; running it again copies nothing twice; a corrupt blob stops it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { bundleZip } from './helpers/archives.js';
import { bucketView } from './helpers/bucket.js';
import { startInstance, type Instance } from './helpers/instance.js';
import { ADMIN_KEY, freshSharedStorage, type SharedStorage } from './helpers/server.js';

const run = promisify(execFile);
const EXT = '/api/v1/deployments/extensions';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let dataDir: string;
const storages: SharedStorage[] = [];
const instances: Instance[] = [];

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-migrate-'));
});
after(async () => {
  await Promise.allSettled(instances.map((instance) => instance.stop()));
  await Promise.allSettled(storages.map((storage) => storage.release()));
  await rm(dataDir, { recursive: true, force: true });
});

async function call(instance: Instance, method: string, apiPath: string, init: { json?: unknown; body?: Buffer } = {}) {
  const headers: Record<string, string> = { authorization: `ApiKey ${ADMIN_KEY}` };
  let body: BodyInit | undefined = init.body as BodyInit | undefined;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  } else if (init.body !== undefined) headers['content-type'] = 'application/zip';
  const response = await fetch(instance.url + apiPath, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, text };
}

function migrate(storage: SharedStorage, from = dataDir) {
  const e = storage.env;
  return run(
    process.execPath,
    [
      '--no-warnings',
      '--import',
      'tsx',
      'src/tools/migrate.ts',
      '--from-data-dir',
      from,
      '--to-database-url',
      e.EXTREPO_DATABASE_URL!,
      '--to-s3-bucket',
      e.EXTREPO_S3_BUCKET!,
      '--to-s3-endpoint',
      e.EXTREPO_S3_ENDPOINT!,
      '--to-s3-force-path-style',
      '--to-s3-prefix',
      e.EXTREPO_S3_PREFIX!,
      '--quiet',
    ],
    { env: { PATH: process.env.PATH ?? '', AWS_ACCESS_KEY_ID: e.AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: e.AWS_SECRET_ACCESS_KEY! } },
  );
}

describe('npm run migrate: SQLite + disk to PostgreSQL + S3', () => {
  const files = new Map<string, Buffer>();
  let sourceView: Array<{ id: string; version: string | null; body: unknown }>;

  test('the migrated installation serves the same extensions, versions and bytes', async () => {
    // The embedded installation, written through the API.
    const source = await startInstance({ EXTREPO_DATA_DIR: dataDir, EXTREPO_ADMIN_API_KEY: ADMIN_KEY });
    instances.push(source);
    const shared = await bundleZip('shared by two\n');
    for (const [name, zip] of [
      ['one', shared],
      ['two', shared],
      ['three', await bundleZip('third\n')],
      ['empty', null],
    ] as const) {
      const created = await call(source, 'POST', EXT, { json: { name, version: '*', extension_type: 'bundle', description: `the ${name}` } });
      assert.equal(created.status, 201);
      if (zip) {
        assert.equal((await call(source, 'PUT', `${EXT}/${created.body.id}`, { body: zip })).status, 200);
        files.set(created.body.id, zip);
      }
    }
    const renamed = [...files.keys()][0]!;
    await call(source, 'POST', `${EXT}/${renamed}`, { json: { name: 'renamed', version: '8.*', extension_type: 'bundle' } });
    // History: 'three' gets a second file, then its first one is restored (current again).
    const historic = [...files.keys()][2]!;
    const replacement = await bundleZip('third, replaced\n');
    assert.equal((await call(source, 'PUT', `${EXT}/${historic}`, { body: replacement })).status, 200);
    assert.equal((await call(source, 'POST', `${EXT}/${historic}/versions/1/_restore`)).status, 200);
    const sourceVersions = new Map<string, unknown>();
    for (const id of files.keys()) {
      sourceVersions.set(id, (await call(source, 'GET', `${EXT}/${id}/versions`)).body.versions.map(withoutVersionUrl));
    }
    const listed = (await call(source, 'GET', EXT)).body.extensions as Array<{ id: string }>;
    sourceView = [];
    for (const extension of listed) {
      const read = await call(source, 'GET', `${EXT}/${extension.id}`);
      sourceView.push({ id: extension.id, version: read.headers.get('x-cloud-resource-version'), body: withoutUrl(read.body) });
    }
    assert.equal(await source.stop(), 0);

    const storage = await freshSharedStorage();
    storages.push(storage);
    const migrated = await migrate(storage);
    const report = JSON.parse(migrated.stdout);
    // The one summary line says what was done, even with --quiet.
    assert.match(
      migrated.stderr,
      /^extrepo migrate: done\. extensions: \d+ copied, 0 already there; users: \d+ copied, 0 already there; API keys: \d+ copied, 0 already there; files: 3 copied \(\d+ bytes, sha256 verified\), 0 already there$/m,
    );
    assert.deepEqual(report.blobs, {
      copied: 3,
      skipped: 0,
      bytesCopied: shared.length + files.get(historic)!.length + replacement.length,
    });
    assert.deepEqual(report.tables.extensions, { rows: 4, inserted: 4 });
    assert.deepEqual(report.tables.file_versions, { rows: 4, inserted: 4 });
    assert.deepEqual(report.references, { checked: 3 + 4 });

    // Every table of the source has every row in the target, but garbage collection's own state,
    // which describes the source's blob store (the target's first full sweep covers the blobs).
    const sqlite = new Database(path.join(dataDir, 'extrepo.sqlite3'), { readonly: true });
    const client = new pg.Client({ connectionString: storage.env.EXTREPO_DATABASE_URL });
    await client.connect();
    try {
      const tables = sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all() as string[];
      assert.ok(tables.includes('gc_candidates') && tables.includes('gc_sweep'));
      assert.equal(report.tables.gc_candidates, undefined);
      for (const table of tables.filter((name) => !name.startsWith('gc_'))) {
        const count = sqlite.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${table}"`);
        assert.equal(rows[0].n, count, table);
      }
    } finally {
      sqlite.close();
      await client.end();
    }

    const target = await startInstance({ ...storage.env, EXTREPO_ADMIN_API_KEY: ADMIN_KEY });
    instances.push(target);
    const targetList = (await call(target, 'GET', EXT)).body.extensions as Array<{ id: string }>;
    assert.deepEqual(
      targetList.map((extension) => extension.id),
      listed.map((extension) => extension.id),
    );
    for (const expected of sourceView) {
      const read = await call(target, 'GET', `${EXT}/${expected.id}`);
      assert.equal(read.headers.get('x-cloud-resource-version'), expected.version);
      assert.deepEqual(withoutUrl(read.body), expected.body);
      const zip = files.get(expected.id);
      if (zip) {
        const download = await fetch(read.body.file_metadata.url);
        assert.deepEqual(Buffer.from(await download.arrayBuffer()), zip);
      }
    }
    // The history travelled: same versions, same provenance, the old bytes still downloadable.
    for (const [id, versions] of sourceVersions) {
      const read = await call(target, 'GET', `${EXT}/${id}/versions`);
      assert.deepEqual(read.body.versions.map(withoutVersionUrl), versions, id);
    }
    const old = await call(target, 'GET', `${EXT}/${historic}/versions/2`);
    assert.equal(old.body.current, false);
    assert.deepEqual(Buffer.from(await (await fetch(old.body.url)).arrayBuffer()), replacement);
    const bucket = bucketView(storage.env);
    assert.deepEqual(await bucket.keys(), [...new Set([...files.values(), replacement].map((zip) => `sha256/${sha256(zip)}`))].sort());
    bucket.close();

    // Running it again copies nothing twice.
    await target.stop();
    const rerun = await migrate(storage);
    assert.match(rerun.stderr, /extensions: 0 copied, \d+ already there;.*files: 0 copied \(0 bytes, sha256 verified\), 3 already there/);
    const again = JSON.parse(rerun.stdout);
    assert.deepEqual(again.blobs, { copied: 0, skipped: 3, bytesCopied: 0 });
    for (const table of Object.values(again.tables) as Array<{ inserted: number }>) assert.equal(table.inserted, 0);
  });

  test('a blob whose bytes do not match its name stops the migration before any metadata is copied', async () => {
    const blobsDir = path.join(dataDir, 'blobs', 'sha256');
    const walk = async (dir: string): Promise<string[]> =>
      (await readdir(dir, { withFileTypes: true }))
        .flatMap((entry) => (entry.isDirectory() ? [] : [path.join(dir, entry.name)]))
        .concat(
          ...(await Promise.all(
            (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => walk(path.join(dir, e.name))),
          )),
        );
    const [victim] = await walk(blobsDir);
    assert.ok(victim);
    await writeFile(victim, 'tampered');
    const storage = await freshSharedStorage();
    storages.push(storage);
    await assert.rejects(migrate(storage), (error: { stderr: string }) => {
      assert.match(error.stderr, /corrupt/);
      return true;
    });
    assert.equal(await extensionsIn(storage), 0);
  });

  test('a file version whose blob is missing stops the migration before any metadata is copied', async () => {
    const from = await mkdtemp(path.join(os.tmpdir(), 'extrepo-migrate-history-'));
    try {
      const source = await startInstance({ EXTREPO_DATA_DIR: from, EXTREPO_ADMIN_API_KEY: ADMIN_KEY });
      instances.push(source);
      const created = await call(source, 'POST', EXT, { json: { name: 'history', version: '*', extension_type: 'bundle' } });
      const lost = await bundleZip('lost from disk\n');
      assert.equal((await call(source, 'PUT', `${EXT}/${created.body.id}`, { body: lost })).status, 200);
      assert.equal((await call(source, 'PUT', `${EXT}/${created.body.id}`, { body: await bundleZip('current\n') })).status, 200);
      assert.equal(await source.stop(), 0);
      const walk = async (dir: string): Promise<string[]> =>
        (
          await Promise.all(
            (await readdir(dir, { withFileTypes: true })).map((entry) =>
              entry.isDirectory() ? walk(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
            ),
          )
        ).flat();
      const blob = (await walk(path.join(from, 'blobs'))).find((file) => path.basename(file) === sha256(lost));
      assert.ok(blob);
      await rm(blob);
      const storage = await freshSharedStorage();
      storages.push(storage);
      await assert.rejects(migrate(storage, from), (error: { stderr: string }) => {
        assert.match(error.stderr, new RegExp(`file version 1 of extension ${created.body.id} points at blob ${sha256(lost)}.*missing`));
        return true;
      });
      assert.equal(await extensionsIn(storage), 0);
    } finally {
      await rm(from, { recursive: true, force: true });
    }
  });
});

/** How many extensions the target database holds. */
async function extensionsIn(storage: SharedStorage): Promise<number> {
  const client = new pg.Client({ connectionString: storage.env.EXTREPO_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT count(*)::int AS n FROM extensions');
    return rows[0].n as number;
  } finally {
    await client.end();
  }
}

/** A file version as the API shows it, minus the link (its origin and signature differ per server). */
function withoutVersionUrl({ url: _url, ...rest }: { url?: string }): unknown {
  return rest;
}

/** An extension as the API shows it, minus the link (its origin and signature differ per server). */
function withoutUrl(body: { file_metadata?: { url?: string } }): unknown {
  if (!body.file_metadata) return body;
  const { url: _url, ...rest } = body.file_metadata;
  return { ...body, file_metadata: rest };
}
