// extrepo-test-backends: own
// The test S3 server (test/helpers/s3.ts) behind every PostgreSQL + S3 test, bench run and chaos run:
// its two s3rver 3.7.1 workarounds hold, and the placeholders it keeps are never objects.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
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
