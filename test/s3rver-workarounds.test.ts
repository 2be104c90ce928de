// extrepo-test-backends: own
// The test S3 server (test/helpers/s3.ts) behind every PostgreSQL + S3 test, bench run and chaos run:
// its three s3rver 3.7.1 workarounds hold, and the placeholders it keeps are never objects.
import assert from 'node:assert/strict';
import fsSync from 'node:fs';
import { createRequire } from 'node:module';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CopyObjectCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openS3BlobStore } from '../src/stores/s3/s3-blob-store.js';
import { rawS3Client } from './helpers/bucket.js';
import { S3RVER_PLACEHOLDER, startS3, type RestartableS3 } from './helpers/s3.js';

let s3: RestartableS3;
let client: S3Client;
before(async () => {
  s3 = await startS3();
  client = rawS3Client(s3);
});
after(async () => {
  client.destroy();
  await s3.stop();
});

const put = (key: string) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: Buffer.from('x') }));
const remove = (key: string) => client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));

async function listAll(prefix: string, maxKeys?: number): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let pages = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: maxKeys }));
    pages += 1;
    for (const object of page.Contents ?? []) keys.push(object.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { keys, pages };
}

// s3rver calls fs-extra's sync functions (its own copies of node:fs's); the listing workaround calls node:fs's.
const s3rverFs = createRequire(createRequire(import.meta.url).resolve('s3rver'))('fs-extra') as Record<string, unknown>;

/** How many times `target[method]` is called while `work` runs. */
async function countCalls<T>(target: object, method: string, work: () => Promise<T>): Promise<{ value: T; calls: number }> {
  const holder = target as Record<string, (...args: unknown[]) => unknown>;
  const original = holder[method]!;
  let calls = 0;
  holder[method] = (...args: unknown[]) => {
    calls += 1;
    return original.apply(target, args);
  };
  try {
    return { value: await work(), calls };
  } finally {
    holder[method] = original;
  }
}

describe('the test S3 server (s3rver 3.7.1 with its workarounds)', () => {
  test('pages a truncated listing with continuation tokens, in key order, every key once', async () => {
    const keys = ['a', 'b', 'c', 'd', 'e'].map((name) => `paging/${name}`);
    for (const key of keys) await put(key);
    const listed = await listAll('paging/', 2);
    assert.deepEqual(listed.keys, keys);
    assert.equal(listed.pages, 3);
  });

  test('lists from StartAfter, as the resumable garbage-collection sweep asks', async () => {
    for (const name of ['1', '2', '3']) await put(`start/${name}`);
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'start/', StartAfter: 'start/1' }));
    assert.deepEqual(
      (page.Contents ?? []).map((object) => object.Key),
      ['start/2', 'start/3'],
    );
  });

  test('lists nested keys, common prefixes and StartAfter pages', async () => {
    // s3rver walks a folder before the names that sort after it with a character below '/' (`b-c` after
    // `b/2`), unlike S3; no key the project writes has such a neighbour, so none is used here.
    const keys = ['tree/a', 'tree/b/1', 'tree/b/2', 'tree/bc', 'tree/c/d/e', 'tree/c/f', 'tree/d'];
    for (const key of keys) await put(key);
    assert.deepEqual((await listAll('tree/')).keys, keys);
    assert.deepEqual((await listAll('tree/', 2)).keys, keys);
    const fromB1 = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'tree/', StartAfter: 'tree/b/1' }));
    assert.deepEqual(
      (fromB1.Contents ?? []).map((object) => object.Key),
      keys.filter((key) => key > 'tree/b/1'),
    );
    const folders = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'tree/', Delimiter: '/' }));
    assert.deepEqual(
      (folders.Contents ?? []).map((object) => object.Key),
      ['tree/a', 'tree/bc', 'tree/d'],
    );
    assert.deepEqual(
      (folders.CommonPrefixes ?? []).map((folder) => folder.Prefix),
      ['tree/b/', 'tree/c/'],
    );
  });

  test('answers a page past StartAfter without a stat of every file before it (a full listing is linear)', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `flat/sha256/${String(i).padStart(3, '0')}`);
    for (const key of keys) await put(key);
    const { value: page, calls: stats } = await countCalls(s3rverFs, 'statSync', () =>
      client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'flat/sha256/', StartAfter: keys[57], MaxKeys: 1 })),
    );
    assert.deepEqual(
      (page.Contents ?? []).map((object) => object.Key),
      [keys[58]],
    );
    assert.equal(page.IsTruncated, true);
    // s3rver's own walk stats each of the 180 files (3 per object) of the prefix on every page.
    assert.ok(stats < 10, `${stats} stats for one page`);
  });

  test('the next page of a listing does not read the prefix again, and later writes show in it', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `kept/sha256/${String(i * 2).padStart(3, '0')}`);
    for (const key of keys) await put(key);
    const first = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'kept/sha256/', MaxKeys: 10 }));
    assert.equal(first.Contents?.length, 10);
    const { value: second, calls: reads } = await countCalls(fsSync, 'readdirSync', () =>
      client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'kept/sha256/', MaxKeys: 10, ContinuationToken: first.NextContinuationToken }),
      ),
    );
    assert.deepEqual(
      (second.Contents ?? []).map((object) => object.Key),
      keys.slice(10, 20),
    );
    assert.equal(reads, 0);
    // A put, a copy and a delete after the listing was read: the next listing has them.
    await put('kept/sha256/001');
    await client.send(new CopyObjectCommand({ Bucket: s3.bucket, CopySource: `${s3.bucket}/kept/sha256/000`, Key: 'kept/sha256/003' }));
    await remove('kept/sha256/002');
    await put('kept/sha256/deeper/x');
    const expected = [...keys.filter((key) => key !== 'kept/sha256/002'), 'kept/sha256/001', 'kept/sha256/003', 'kept/sha256/deeper/x'].sort();
    assert.deepEqual((await listAll('kept/', 7)).keys, expected);
    // An object written into s3rver's directory from outside, as the bench seeds them (a while after the
    // last listing: directory times have the kernel's clock-tick resolution).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const outside = path.join(s3.directory, s3.bucket, 'kept', 'sha256', '999._S3rver_object');
    await writeFile(outside, 'x');
    await writeFile(`${outside}.md5`, '9dd4e461268c8034f5c8564e155c67a6');
    assert.deepEqual((await listAll('kept/', 7)).keys, [...expected, 'kept/sha256/999'].sort());
  });

  test('a folder named by a prefix of StartAfter is still listed, as s3rver lists it', async () => {
    for (const key of ['edge/ab-c', 'edge/ab/x', 'edge/ab-d']) await put(key);
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'edge/', StartAfter: 'edge/ab-c' }));
    assert.deepEqual((page.Contents ?? []).map((object) => object.Key).sort(), ['edge/ab-d', 'edge/ab/x']);
  });

  test('deletes an object beside the placeholder without reading the whole prefix', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `wide/sha256/${String(i).padStart(3, '0')}`);
    for (const key of keys) await put(key);
    const { calls: reads } = await countCalls(s3rverFs, 'readdirSync', () => remove(keys[0]!));
    // s3rver's own DeleteObject reads the directory (every object in it) to see whether it is empty.
    assert.equal(reads, 0);
    assert.deepEqual((await listAll('wide/')).keys, keys.slice(1));
    assert.deepEqual(
      await readdir(path.join(s3.directory, s3.bucket, 'wide', 'sha256')).then((names) => names.filter((name) => name.startsWith('000'))),
      [],
    );
  });

  test('keeps a placeholder file in each prefix written to, which no listing shows', async () => {
    const store = await openS3BlobStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: s3.credentials,
      prefix: 'placed/',
    });
    try {
      await put('placed/sha256/' + 'a'.repeat(64));
      await put('placed/incoming/upload-1');
      await remove('placed/incoming/upload-1');
      await remove('placed/sha256/' + 'a'.repeat(64));
      // The directories stay, each with its placeholder; neither S3 nor the blob store lists it.
      const bucketDir = path.join(s3.directory, s3.bucket, 'placed');
      assert.deepEqual(await readdir(path.join(bucketDir, 'incoming')), [S3RVER_PLACEHOLDER]);
      assert.deepEqual(await readdir(path.join(bucketDir, 'sha256')), [S3RVER_PLACEHOLDER]);
      assert.deepEqual((await listAll('placed/')).keys, []);
      const blobs: string[] = [];
      for await (const sha256 of store.list()) blobs.push(sha256);
      assert.deepEqual(blobs, []);
      assert.equal(await store.sweepIncomplete(0), 0);
    } finally {
      await store.close();
    }
  });

  test('survives PutObjects racing the DeleteObjects that empty their prefix', async () => {
    // The race the chaos run found: without the placeholder, a DeleteObject removes `incoming/` while a
    // PutObject opens its file there, and s3rver's process dies on the unhandled ENOENT.
    let failures = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = 0; i < 25; i++) {
          const key = `race/incoming/${worker}-${i}`;
          await put(key).catch(() => (failures += 1));
          await remove(key).catch(() => (failures += 1));
        }
      }),
    );
    assert.equal(failures, 0);
    assert.deepEqual((await listAll('race/')).keys, []);
  });
});
