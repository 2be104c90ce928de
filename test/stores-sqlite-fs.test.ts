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
import { KeyedMutex } from '../src/stores/sqlite/keyed-mutex.js';
import { LATEST_SCHEMA_VERSION } from '../src/stores/sqlite/migrations.js';
import { blobStoreContract } from './contract/blob-store.contract.js';
import { metadataStoreContract } from './contract/metadata-store.contract.js';

const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'extrepo-stores-'));
  tempDirs.push(dir);
  return dir;
}

after(async () => {
  await Promise.all(tempDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

metadataStoreContract('sqlite', async () => {
  const dir = await tempDir();
  const store = await openSqliteMetadataStore(path.join(dir, 'nested', 'extrepo.sqlite3'));
  return { store, cleanup: () => store.close() };
});

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

  test('two stores on one file: conditional updates still have exactly one winner', async () => {
    const file = path.join(await tempDir(), 'db.sqlite3');
    const a = await openSqliteMetadataStore(file);
    const b = await openSqliteMetadataStore(file);
    await a.insertExtension(extension('shared'));
    const change = { name: 'x', version: '8.*', description: null, downloadUrl: null, now: new Date() };
    const outcomes = await Promise.allSettled([a.updateExtension('shared', change, 1), b.updateExtension('shared', change, 1)]);
    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
    await a.close();
    await b.close();
  });

  test('blob lock entries do not leak', async () => {
    const mutex = new KeyedMutex();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => mutex.run(`k${i % 5}`, async () => new Promise((r) => setTimeout(r, 1)))),
    );
    await mutex.run('x', async () => {
      throw new Error('ignored');
    }).catch(() => undefined);
    assert.equal(mutex.size, 0);
  });

  test('listing 10,000 and 100,000 extensions stays fast', async () => {
    const file = path.join(await tempDir(), 'db.sqlite3');
    const store = await openSqliteMetadataStore(file);
    // Bulk-load through SQLite directly: the store's one-by-one inserts each fsync (synchronous=FULL).
    const db = new Database(file);
    const insert = db.prepare(`INSERT INTO extensions (id, name, version, extension_type, description, download_url,
      file_sha256, file_size, file_uploaded_at, owner_id, resource_version, created_at, modified_at)
      VALUES (?, 'name', '8.*', 'plugin', 'some description', NULL, ?, 1048576, ?, ?, 1, ?, ?)`);
    const load = (from: number, to: number) =>
      db.transaction(() => {
        for (let i = from; i < to; i += 1) {
          const sha = createHash('sha256').update(String(i)).digest('hex');
          insert.run(`ext-${i}`, sha, 1_700_000_000_000 + i, `owner-${i % 100}`, 1_700_000_000_000 + i, 1_700_000_000_000 + i);
        }
      })();
    const measure = async (rows: number) => {
      await store.listExtensions(); // warm-up
      const started = performance.now();
      const list = await store.listExtensions();
      const elapsed = performance.now() - started;
      assert.equal(list.length, rows);
      const ownerStarted = performance.now();
      const owned = await store.listExtensions({ ownerId: 'owner-7' });
      const ownerElapsed = performance.now() - ownerStarted;
      assert.equal(owned.length, rows / 100);
      console.log(`sqlite listExtensions: ${rows} rows in ${elapsed.toFixed(1)} ms; one owner (${rows / 100}) in ${ownerElapsed.toFixed(1)} ms`);
      return elapsed;
    };
    load(0, 10_000);
    const small = await measure(10_000);
    load(10_000, 100_000);
    const large = await measure(100_000);
    db.close();
    await store.close();
    // Generous bounds: catch an accidental N+1 or quadratic mapping, not machine speed.
    assert.ok(small < 500, `10,000 rows took ${small} ms`);
    assert.ok(large < 3000, `100,000 rows took ${large} ms`);
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
