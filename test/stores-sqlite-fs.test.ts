// extrepo-test-backends: own
// The embedded stores (SQLite metadata, local-disk blobs): the shared contracts, plus what only
// these implementations promise (data survives reopening, schema versioning, crash leftovers).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openFsBlobStore } from '../src/stores/fs/fs-blob-store.js';
import { openStores } from '../src/stores/open-stores.js';
import { openSqliteMetadataStore } from '../src/stores/sqlite/sqlite-metadata-store.js';
import { KeyedMutex } from '../src/stores/keyed-mutex.js';
import { LATEST_SCHEMA_VERSION } from '../src/stores/sqlite/migrations.js';
import { blobStoreContract } from './contract/blob-store.contract.js';
import { deploymentStoreContract } from './contract/deployment-store.contract.js';
import { metadataStoreContract, type OpenMetadataStore } from './contract/metadata-store.contract.js';

const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'extrepo-stores-'));
  tempDirs.push(dir);
  return dir;
}

after(async () => {
  await Promise.all(tempDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

const openSqlite: OpenMetadataStore = async () => {
  const dir = await tempDir();
  const store = await openSqliteMetadataStore(path.join(dir, 'nested', 'extrepo.sqlite3'));
  return { store, cleanup: () => store.close() };
};
metadataStoreContract('sqlite', openSqlite);
deploymentStoreContract('sqlite', openSqlite);

blobStoreContract('fs', async () => {
  const dir = await tempDir();
  const store = await openFsBlobStore(path.join(dir, 'blobs'));
  return { store, cleanup: () => store.close() };
});

describe('sqlite metadata store', () => {
  const extension = (id: string) => ({
    id,
    name: 'n',
    version: '8.*',
    extensionType: 'plugin' as const,
    description: null,
    downloadUrl: null,
    file: { sha256: 'a'.repeat(64), size: 1, uploadedAt: new Date(1) },
    ownerId: null,
    now: new Date(1_700_000_000_123),
  });

  test('data survives closing and reopening', async () => {
    const file = path.join(await tempDir(), 'db.sqlite3');
    const first = await openSqliteMetadataStore(file);
    const inserted = await first.insertExtension(extension('kept'));
    await first.initSetting('link-secret', 's3cr3t');
    await first.close();
    const second = await openSqliteMetadataStore(file);
    assert.deepEqual(await second.getExtension('kept'), inserted);
    assert.equal(await second.getSetting('link-secret'), 's3cr3t');
    await second.close();
  });

  test('migration 3 backfills an existing file as version 1 (its source inferred from download_url)', async () => {
    const file = path.join(await tempDir(), 'db.sqlite3');
    const first = await openSqliteMetadataStore(file);
    await first.insertExtension(extension('uploaded'));
    await first.insertExtension({ ...extension('copied'), downloadUrl: 'https://example.com/c.zip' });
    await first.insertExtension({ ...extension('empty'), file: null });
    await first.close();
    // Back to a schema 2 database, as an extrepo from before file versions left it (later migrations undone too).
    const db = new Database(file);
    db.exec(
      'DROP TABLE file_versions; DROP TABLE deployment_extensions; DROP TABLE deployment_plan_history; DROP TABLE deployments; DROP INDEX extensions_by_name; DROP INDEX extensions_by_owner_name; DROP TABLE gc_candidates; DROP TABLE gc_sweep; DELETE FROM schema_migrations WHERE version > 2',
    );
    db.close();
    const second = await openSqliteMetadataStore(file);
    try {
      const only = async (id: string) => (await second.listFileVersions(id, { from: 0, size: 10 })).versions.map((v) => ({ ...v }));
      const backfilled = { version: 1, sha256: 'a'.repeat(64), size: 1, createdAt: new Date(1), createdBy: null, plugin: null, current: true };
      assert.deepEqual(await only('uploaded'), [{ extensionId: 'uploaded', ...backfilled, source: { kind: 'upload' } }]);
      assert.deepEqual(await only('copied'), [
        { extensionId: 'copied', ...backfilled, source: { kind: 'download_url', downloadUrl: 'https://example.com/c.zip' } },
      ]);
      assert.deepEqual(await only('empty'), []);
    } finally {
      await second.close();
    }
  });

  test('uses WAL with synchronous=FULL and records the schema version', async () => {
    const file = path.join(await tempDir(), 'db.sqlite3');
    await (await openSqliteMetadataStore(file)).close();
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.prepare('SELECT max(version) FROM schema_migrations').pluck().get(), LATEST_SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  test('a database from a newer extrepo is refused with a clear message', async () => {
    const file = path.join(await tempDir(), 'db.sqlite3');
    await (await openSqliteMetadataStore(file)).close();
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(LATEST_SCHEMA_VERSION + 1, Date.now());
    db.close();
    await assert.rejects(openSqliteMetadataStore(file), (error: Error) => {
      assert.match(error.message, /schema version \d+/);
      assert.match(error.message, /newer extrepo/);
      return true;
    });
  });

  test('a second store on the same file is refused with a clear error while the first is open', async () => {
    const file = path.join(await tempDir(), 'db.sqlite3');
    const first = await openSqliteMetadataStore(file);
    await assert.rejects(openSqliteMetadataStore(file), (error: Error) => {
      assert.match(error.message, /in use by another process/);
      assert.match(error.message, /EXTREPO_DATABASE_URL/);
      return true;
    });
    await first.close();
    await (await openSqliteMetadataStore(file)).close();
  });

  test('blob lock entries do not leak', async () => {
    const mutex = new KeyedMutex();
    await Promise.all(Array.from({ length: 50 }, (_, i) => mutex.run(`k${i % 5}`, async () => new Promise((r) => setTimeout(r, 1)))));
    await mutex
      .run('x', async () => {
        throw new Error('ignored');
      })
      .catch(() => undefined);
    assert.equal(mutex.size, 0);
  });

  test("lists 100,000 extensions, and one owner's, in creation order", async () => {
    const file = path.join(await tempDir(), 'db.sqlite3');
    await (await openSqliteMetadataStore(file)).close();
    // Bulk-load through SQLite directly (the store holds the file exclusively while open, and its
    // one-by-one inserts each fsync); timing is the benchmark's business, not this test's.
    const db = new Database(file);
    const insert = db.prepare(`INSERT INTO extensions (id, name, version, extension_type, description, download_url,
      file_sha256, file_size, file_uploaded_at, owner_id, resource_version, created_at, modified_at)
      VALUES (?, 'name', '8.*', 'plugin', 'some description', NULL, ?, 1048576, ?, ?, 1, ?, ?)`);
    db.transaction(() => {
      for (let i = 0; i < 100_000; i += 1) {
        const sha = createHash('sha256').update(String(i)).digest('hex');
        insert.run(`ext-${i}`, sha, 1_700_000_000_000 + i, `owner-${i % 100}`, 1_700_000_000_000 + i, 1_700_000_000_000 + i);
      }
    })();
    db.close();
    const store = await openSqliteMetadataStore(file);
    try {
      const all = await store.listExtensions();
      assert.equal(all.length, 100_000);
      assert.equal(all[0]!.id, 'ext-0');
      assert.equal(all[99_999]!.id, 'ext-99999');
      const owned = await store.listExtensions({ ownerId: 'owner-7' });
      assert.equal(owned.length, 1_000);
      assert.ok(owned.every((record) => record.ownerId === 'owner-7'));
    } finally {
      await store.close();
    }
  });
});

describe('fs blob store', () => {
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  test('layout: sha256/ab/cd/<hash>, nothing left in incoming/', async () => {
    const dir = await tempDir();
    const store = await openFsBlobStore(dir);
    const bytes = randomBytes(100);
    const upload = await store.beginUpload();
    await pipeline(Readable.from([bytes]), upload.writable);
    assert.equal((await fs.readdir(path.join(dir, 'incoming'))).length, 1);
    const hash = sha(bytes);
    await upload.commit(hash);
    const stats = await fs.stat(path.join(dir, 'sha256', hash.slice(0, 2), hash.slice(2, 4), hash));
    assert.equal(stats.size, 100);
    assert.deepEqual(await fs.readdir(path.join(dir, 'incoming')), []);
  });

  test('blobs and total size survive reopening', async () => {
    const dir = await tempDir();
    const first = await openFsBlobStore(dir);
    const bytes = randomBytes(777);
    const upload = await first.beginUpload();
    await pipeline(Readable.from([bytes]), upload.writable);
    await upload.commit(sha(bytes));
    assert.equal(await first.totalBytes(), 777);
    await first.close();
    const second = await openFsBlobStore(dir);
    assert.equal(await second.totalBytes(), 777);
    assert.deepEqual(await second.stat(sha(bytes)), { size: 777 });
  });

  test('the total size counted after opening stays exact while blobs are committed and deleted during the count', async () => {
    const put = async (store: Awaited<ReturnType<typeof openFsBlobStore>>, bytes: Buffer) => {
      const upload = await store.beginUpload();
      await pipeline(Readable.from([bytes]), upload.writable);
      await upload.commit(sha(bytes));
      return sha(bytes);
    };
    // Several rounds: a lost update between the walk and a concurrent commit (the walk once added
    // `await stat()` to a total read before the await) showed in about one round of twenty.
    for (let round = 0; round < 8; round++) {
      const dir = await tempDir();
      const first = await openFsBlobStore(dir);
      const existing = await Promise.all(Array.from({ length: 200 }, (_, i) => put(first, randomBytes(100 + i))));
      await first.close();
      // Reopened: the walk runs in the background while these commits and deletes land.
      const second = await openFsBlobStore(dir);
      const added = Array.from({ length: 50 }, (_, i) => randomBytes(1000 + i));
      await Promise.all([...added.map((bytes) => put(second, bytes)), ...existing.slice(0, 50).map((hash) => second.delete(hash))]);
      let expected = 0;
      for await (const hash of second.list()) expected += (await second.stat(hash))!.size;
      assert.equal(await second.totalBytes(), expected, `round ${round}`);
    }
  });

  test('the temp file of a killed upload is swept at the next start', async () => {
    const dir = await tempDir();
    await openFsBlobStore(dir);
    // What a crash mid-upload leaves behind: a temp file nobody will commit.
    await fs.writeFile(path.join(dir, 'incoming', 'crashed-upload'), randomBytes(1000));
    const old = new Date(Date.now() - 3_600_000);
    await fs.utimes(path.join(dir, 'incoming', 'crashed-upload'), old, old);
    const store = await openFsBlobStore(dir);
    assert.equal(await store.sweepIncomplete(60_000), 1);
    assert.deepEqual(await fs.readdir(path.join(dir, 'incoming')), []);
    assert.equal(await store.totalBytes(), 0);
  });

  test('a failing commit can be aborted and leaves nothing', async () => {
    const dir = await tempDir();
    const store = await openFsBlobStore(dir);
    const upload = await store.beginUpload();
    upload.writable.write(randomBytes(10));
    await assert.rejects(upload.commit('b'.repeat(64)), /before the writable was ended/);
    await upload.abort();
    assert.deepEqual(await fs.readdir(path.join(dir, 'incoming')), []);
  });
});

describe('openStores', () => {
  test('defaults to SQLite and local disk under the data dir', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const { metadata, blobs } = await openStores({ dataDir, databaseUrl: null, s3: null });
    await metadata.ping();
    await blobs.ping();
    await metadata.close();
    await blobs.close();
    await fs.access(path.join(dataDir, 'extrepo.sqlite3'));
    await fs.access(path.join(dataDir, 'blobs', 'sha256'));
  });
});
