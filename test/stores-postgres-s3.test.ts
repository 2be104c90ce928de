// extrepo-test-backends: own
// The scale-out stores (PostgreSQL metadata, S3 blobs): the shared contracts, plus what only they
// promise: several instances on one database stay consistent, and large blobs are copied in parts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand, UploadPartCopyCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { VersionConflictError, type MetadataStore, type NewExtension } from '../src/stores/metadata-store.js';
import { openPostgresMetadataStore } from '../src/stores/postgres/postgres-metadata-store.js';
import { LATEST_SCHEMA_VERSION, MIGRATION_VERSIONS } from '../src/stores/postgres/migrations.js';
import { openS3BlobStore, type S3BlobStoreOptions } from '../src/stores/s3/s3-blob-store.js';
import { planCopyParts } from '../src/stores/s3/s3-copy.js';
import { blobStoreContract } from './contract/blob-store.contract.js';
import { deploymentStoreContract } from './contract/deployment-store.contract.js';
import { metadataStoreContract, type OpenMetadataStore } from './contract/metadata-store.contract.js';
import { createDatabase, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { rawS3Client } from './helpers/bucket.js';
import { startS3, type TestS3 } from './helpers/s3.js';

const MiB = 1024 ** 2;

const openPostgres: OpenMetadataStore = async () => {
  const server = await startPostgres();
  try {
    const store = await openPostgresMetadataStore({ url: server.url, poolSize: 4 });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
};
metadataStoreContract('postgres', openPostgres);
deploymentStoreContract('postgres', openPostgres);

function s3Options(s3: TestS3, extra: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  return {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: s3.credentials,
    ...extra,
  };
}

blobStoreContract('s3', async () => {
  const s3 = await startS3();
  const store = await openS3BlobStore(s3Options(s3, { prefix: 'contract' }));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await s3.stop();
    },
  };
});

function extension(id: string, sha256: string | null = null): NewExtension {
  return {
    id,
    name: 'n',
    version: '8.*',
    extensionType: 'plugin',
    description: null,
    downloadUrl: null,
    file: sha256 ? { sha256, size: 1, uploadedAt: new Date(1) } : null,
    ownerId: null,
    now: new Date(),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('postgres metadata store, several instances', () => {
  let server: TestPostgres;
  const stores: MetadataStore[] = [];
  let databaseCount = 0;

  /** A new, empty database on the test server. */
  async function freshDatabase(): Promise<string> {
    return createDatabase(server.url, `extra_${++databaseCount}_${randomBytes(3).toString('hex')}`);
  }

  async function open(url: string): Promise<MetadataStore> {
    const store = await openPostgresMetadataStore({ url, poolSize: 4 });
    stores.push(store);
    return store;
  }

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await Promise.allSettled(stores.map((store) => store.close()));
    await server?.stop();
  });

  test('a connection that drops while it holds a blob lock neither crashes the process nor breaks the store', async () => {
    const url = await freshDatabase();
    const errors: Error[] = [];
    const store = await openPostgresMetadataStore({ url, poolSize: 2, onError: (error) => errors.push(error) });
    stores.push(store);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const sha = createHash('sha256').update('dropped').digest('hex');
      const ran = await store.withBlobLock(sha, async () => {
        // The operator restarts the database connection under us (as a failover would).
        await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%pg_advisory_lock%'`,
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        return 'finished';
      });
      assert.equal(ran, 'finished');
      assert.ok(errors.length > 0, 'the lost connection was reported');
      // The lock went with the session, and the store goes on with fresh connections.
      assert.equal(await store.withBlobLock(sha, async () => 'again'), 'again');
      await store.ping();
    } finally {
      await admin.end();
    }
  });

  test('instances starting at once on a new database migrate it once, without errors', async () => {
    const url = await freshDatabase();
    const opened = await Promise.all(Array.from({ length: 4 }, () => open(url)));
    assert.equal(opened.length, 4);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((row: { version: number }) => row.version),
        [...MIGRATION_VERSIONS],
      );
    } finally {
      await client.end();
    }
    // and reopening an up-to-date database is fine
    await open(url);
  });

  test('migration 3 backfills an existing file as version 1 (its source inferred from download_url)', async () => {
    const url = await freshDatabase();
    const first = await open(url);
    const sha = createHash('sha256').update('backfilled').digest('hex');
    await first.insertExtension(extension('uploaded', sha));
    await first.insertExtension({ ...extension('copied', sha), downloadUrl: 'https://example.com/c.zip' });
    await first.close();
    // Back to a schema 2 database, as an extrepo from before file versions left it (later migrations undone too).
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      'DROP TABLE file_versions; DROP TABLE deployment_extensions; DROP TABLE deployment_plan_history; DROP TABLE deployments; DROP INDEX extensions_by_name; DROP INDEX extensions_by_owner_name; DROP TABLE gc_candidates; DROP TABLE gc_sweep; DELETE FROM schema_migrations WHERE version > 2',
    );
    await client.end();
    const second = await open(url);
    const only = async (id: string) => (await second.listFileVersions(id, { from: 0, size: 10 })).versions.map((v) => ({ ...v }));
    const backfilled = { version: 1, sha256: sha, size: 1, createdAt: new Date(1), createdBy: null, plugin: null, current: true };
    assert.deepEqual(await only('uploaded'), [{ extensionId: 'uploaded', ...backfilled, source: { kind: 'upload' } }]);
    assert.deepEqual(await only('copied'), [
      { extensionId: 'copied', ...backfilled, source: { kind: 'download_url', downloadUrl: 'https://example.com/c.zip' } },
    ]);
  });

  test('a database migrated by a newer extrepo is refused with a clear message', async () => {
    const url = await freshDatabase();
    await open(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [LATEST_SCHEMA_VERSION + 1]);
    await client.end();
    await assert.rejects(openPostgresMetadataStore({ url }), (error: Error) => {
      assert.match(error.message, new RegExp(`schema version ${LATEST_SCHEMA_VERSION + 1}`));
      assert.match(error.message, /newer extrepo/);
      assert.doesNotMatch(error.message, /password/);
      return true;
    });
  });

  test('a conditional update race between two instances has exactly one winner', async () => {
    const url = await freshDatabase();
    const [a, b] = [await open(url), await open(url)] as [MetadataStore, MetadataStore];
    const change = { name: 'x', version: '8.*', description: null, downloadUrl: null, now: new Date() };
    for (let round = 0; round < 10; round += 1) {
      const id = `race-${round}`;
      await a.insertExtension(extension(id));
      const outcomes = await Promise.allSettled([a.updateExtension(id, change, 1), b.updateExtension(id, change, 1)]);
      assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
      const loser = outcomes.find((outcome) => outcome.status === 'rejected');
      assert.ok(loser?.status === 'rejected' && loser.reason instanceof VersionConflictError);
      assert.equal((await b.getExtension(id))?.resourceVersion, 2);
    }
  });

  test('the same id inserted by two instances at once: one IdCollisionError', async () => {
    const url = await freshDatabase();
    const [a, b] = [await open(url), await open(url)] as [MetadataStore, MetadataStore];
    const outcomes = await Promise.allSettled([a.insertExtension(extension('same')), b.insertExtension(extension('same'))]);
    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
    const loser = outcomes.find((outcome) => outcome.status === 'rejected');
    assert.equal(loser?.status === 'rejected' && (loser.reason as Error).name, 'IdCollisionError');
  });

  test('the last two references dropped at once by two instances: exactly one reports the orphan', async () => {
    const url = await freshDatabase();
    const [a, b] = [await open(url), await open(url)] as [MetadataStore, MetadataStore];
    for (let round = 0; round < 10; round += 1) {
      const sha = createHash('sha256').update(`shared-${round}`).digest('hex');
      await a.insertExtension(extension(`one-${round}`, sha));
      await a.insertExtension(extension(`two-${round}`, sha));
      const results = await Promise.all([a.deleteExtension(`one-${round}`), b.deleteExtension(`two-${round}`)]);
      assert.deepEqual(
        results.flatMap((result) => result.orphanedBlobs),
        [sha],
        `round ${round}`,
      );
    }
  });

  test('withBlobLock excludes across instances, and different hashes do not wait', async () => {
    const url = await freshDatabase();
    const [a, b] = [await open(url), await open(url)] as [MetadataStore, MetadataStore];
    const hash = 'c'.repeat(64);
    const events: string[] = [];
    const holder = (label: string) => async () => {
      events.push(`${label}:start`);
      await delay(100);
      events.push(`${label}:end`);
    };
    const first = a.withBlobLock(hash, holder('a'));
    await delay(20); // a holds the lock
    await Promise.all([first, b.withBlobLock(hash, holder('b'))]);
    assert.deepEqual(events, ['a:start', 'a:end', 'b:start', 'b:end']);

    // a holder that throws still releases the lock for the other instance
    await assert.rejects(
      a.withBlobLock(hash, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await b.withBlobLock(hash, async () => 'free again'), 'free again');

    // Each holder waits until the other is inside its lock: this only finishes if they overlap.
    let inside = 0;
    let bothInside!: () => void;
    const meeting = new Promise<void>((resolve) => {
      bothInside = resolve;
    });
    const meet = async () => {
      inside += 1;
      if (inside === 2) bothInside();
      await Promise.race([
        meeting,
        delay(5000).then(() => {
          throw new Error('locks on different hashes did not overlap');
        }),
      ]);
    };
    await Promise.all([a.withBlobLock('d'.repeat(64), meet), b.withBlobLock('e'.repeat(64), meet)]);
  });

  test('listing 10,000 and 100,000 extensions', async () => {
    const url = await freshDatabase();
    const store = await open(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const load = (from: number, to: number) =>
      client.query(
        `INSERT INTO extensions (id, name, version, extension_type, description, file_sha256, file_size,
           file_uploaded_at, owner_id, resource_version, created_at, modified_at)
         SELECT 'ext-' || i, 'name', '8.*', 'plugin', 'some description', md5(i::text) || md5(i::text), 1048576,
           to_timestamp(1700000000 + i / 1000.0), 'owner-' || (i % 100), 1,
           to_timestamp(1700000000 + i / 1000.0), to_timestamp(1700000000 + i / 1000.0)
         FROM generate_series($1::int, $2::int - 1) AS i`,
        [from, to],
      );
    // Whole and complete at both sizes; how long it takes is the bench's listing case (timing is
    // no pass/fail criterion).
    const check = async (rows: number) => {
      const list = await store.listExtensions();
      assert.equal(list.length, rows);
      assert.equal(new Set(list.map((extension) => extension.id)).size, rows);
      assert.ok(list[0]?.createdAt instanceof Date);
      assert.equal((await store.listExtensions({ ownerId: 'owner-7' })).length, rows / 100);
    };
    await load(0, 10_000);
    await client.query('ANALYZE extensions');
    await check(10_000);
    await load(10_000, 100_000);
    await client.query('ANALYZE extensions');
    await check(100_000);
    await client.end();
  });
});

describe('s3 blob store', () => {
  let s3: TestS3;
  let raw: S3Client;

  before(async () => {
    s3 = await startS3();
    raw = rawS3Client(s3);
  });
  after(async () => {
    raw?.destroy();
    await s3?.stop();
  });

  async function keys(prefix: string): Promise<string[]> {
    const page = await raw.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    return (page.Contents ?? []).map((object) => object.Key ?? '');
  }

  async function upload(store: Awaited<ReturnType<typeof openS3BlobStore>>, bytes: Buffer): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const pending = await store.beginUpload();
    await pipeline(Readable.from([bytes]), pending.writable);
    await pending.commit(hash);
    return hash;
  }

  test('layout: <prefix>sha256/<hash>, stored bytes are exactly the blob (no aws-chunked framing)', async () => {
    const store = await openS3BlobStore(s3Options(s3, { prefix: 'layout/' }));
    const bytes = randomBytes(3000);
    const hash = await upload(store, bytes);
    assert.deepEqual(await keys('layout/'), [`layout/sha256/${hash}`]);
    const object = await raw.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `layout/sha256/${hash}` }));
    assert.ok(Buffer.from(await object.Body!.transformToByteArray()).equals(bytes));
    await store.close();
  });

  test('stores with different prefixes do not see each other', async () => {
    const one = await openS3BlobStore(s3Options(s3, { prefix: 'one' }));
    const two = await openS3BlobStore(s3Options(s3, { prefix: 'two' }));
    const hash = await upload(one, randomBytes(100));
    assert.deepEqual(await one.stat(hash), { size: 100 });
    assert.equal(await two.stat(hash), null);
    const listed: string[] = [];
    for await (const item of two.list()) listed.push(item);
    assert.deepEqual(listed, []);
  });

  test('aborting an upload in the middle of a multipart upload leaves no object', async () => {
    const store = await openS3BlobStore(s3Options(s3, { prefix: 'abort-mp' }));
    const pending = await store.beginUpload();
    // Three 8 MiB parts' worth: lib-storage has started a multipart upload by then.
    for (let i = 0; i < 3; i += 1) {
      if (!pending.writable.write(randomBytes(8 * MiB))) await new Promise((resolve) => pending.writable.once('drain', resolve));
    }
    await pending.abort();
    await pending.abort();
    assert.deepEqual(await keys('abort-mp/'), []);
  });

  test('leftovers of a crashed instance under incoming/ are swept', async () => {
    const store = await openS3BlobStore(s3Options(s3, { prefix: 'crash' }));
    await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'crash/incoming/left-behind', Body: randomBytes(10) }));
    assert.equal(await store.sweepIncomplete(60_000), 0); // too recent
    assert.equal(await store.sweepIncomplete(0), 1);
    assert.deepEqual(await keys('crash/'), []);
  });

  test('a failing copy part aborts the multipart copy and fails the commit', async () => {
    const client = new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: s3.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    // s3rver does not implement UploadPartCopy: it answers NotImplemented, like a failing part.
    const store = await openS3BlobStore(s3Options(s3, { prefix: 'copy-fail', client, multipartCopyThresholdBytes: 1, copyPartSizeBytes: 5 * MiB }));
    const bytes = randomBytes(6 * MiB);
    const pending = await store.beginUpload();
    await pipeline(Readable.from([bytes]), pending.writable);
    await assert.rejects(pending.commit(createHash('sha256').update(bytes).digest('hex')));
    await pending.abort();
    assert.deepEqual(await keys('copy-fail/'), []);
    client.destroy();
  });

  test('blobs above the copy threshold are copied part by part (UploadPartCopy)', async () => {
    // s3rver lacks UploadPartCopy: this client performs it as GetObject(range) + UploadPart
    // against s3rver, so the multipart upload itself (create, parts, complete) is real.
    const client = new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: s3.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const copiedRanges: string[] = [];
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    (client as { send: unknown }).send = async (command: unknown) => {
      if (!(command instanceof UploadPartCopyCommand)) return send(command);
      const input = command.input;
      copiedRanges.push(`${input.PartNumber}:${input.CopySourceRange}`);
      const [bucket, ...keyParts] = (input.CopySource ?? '').split('/');
      const source = (await send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: keyParts.map(decodeURIComponent).join('/'),
          Range: input.CopySourceRange,
        }),
      )) as { Body: { transformToByteArray(): Promise<Uint8Array> } };
      const part = (await send(
        new UploadPartCommand({
          Bucket: input.Bucket,
          Key: input.Key,
          UploadId: input.UploadId,
          PartNumber: input.PartNumber,
          Body: Buffer.from(await source.Body.transformToByteArray()),
        }),
      )) as { ETag?: string };
      return { CopyPartResult: { ETag: part.ETag } };
    };
    const store = await openS3BlobStore(
      s3Options(s3, { prefix: 'copy-mp', client, multipartCopyThresholdBytes: 1 * MiB, copyPartSizeBytes: 5 * MiB }),
    );
    const bytes = randomBytes(12 * MiB + 5);
    const hash = await upload(store, bytes);
    assert.deepEqual(copiedRanges.sort(), [`1:bytes=0-${5 * MiB - 1}`, `2:bytes=${5 * MiB}-${10 * MiB - 1}`, `3:bytes=${10 * MiB}-${12 * MiB + 4}`]);
    const chunks: Buffer[] = [];
    for await (const chunk of await store.open(hash)) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(bytes));
    assert.deepEqual(await keys('copy-mp/'), [`copy-mp/sha256/${hash}`]);
    client.destroy();
  });

  test('planCopyParts covers every byte once, within S3 part limits', () => {
    assert.deepEqual(planCopyParts(12 * MiB, 5 * MiB), [
      { partNumber: 1, start: 0, end: 5 * MiB - 1 },
      { partNumber: 2, start: 5 * MiB, end: 10 * MiB - 1 },
      { partNumber: 3, start: 10 * MiB, end: 12 * MiB - 1 },
    ]);
    assert.equal(planCopyParts(10 * MiB, 5 * MiB).length, 2);
    assert.equal(planCopyParts(1, 1)[0]?.end, 0); // parts are at least 5 MiB: one part
    const huge = planCopyParts(5 * 1024 ** 4, 512 * MiB); // 5 TiB, S3's object size limit
    assert.ok(huge.length <= 10_000);
    assert.equal(huge.at(-1)?.end, 5 * 1024 ** 4 - 1);
    for (let i = 1; i < huge.length; i += 1) assert.equal(huge[i]?.start, (huge[i - 1]?.end ?? 0) + 1);
  });

  test('a failing object store fails the writer instead of stalling it', async () => {
    const store = await openS3BlobStore(s3Options(s3, { bucket: 'no-such-bucket' }));
    for (const size of [1000, 20 * MiB]) {
      const pending = await store.beginUpload();
      const source = Readable.from(
        (function* () {
          for (let sent = 0; sent < size; sent += MiB) yield randomBytes(Math.min(MiB, size - sent));
        })(),
      );
      await assert.rejects(pipeline(source, pending.writable));
      await pending.abort();
    }
    await store.close();
  });

  test('an unreachable endpoint fails ping', async () => {
    const store = await openS3BlobStore(s3Options(s3, { endpoint: 'http://127.0.0.1:1', prefix: 'x' }));
    await assert.rejects(store.ping());
    await store.close();
  });
});
