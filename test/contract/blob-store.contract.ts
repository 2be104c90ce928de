// The behaviour every BlobStore must have, written once and run against each implementation
// (local disk, S3). One store is opened per suite; tests use their own random bytes, so hashes
// never collide between tests.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobNotFoundError, type BlobStore, type ByteRange } from '../../src/stores/blob-store.js';

export type OpenBlobStore = () => Promise<{ store: BlobStore; cleanup: () => Promise<void> }>;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const items: string[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Uploads bytes (in a few chunks, like a real request body) without committing. */
async function write(store: BlobStore, bytes: Buffer) {
  const upload = await store.beginUpload();
  const chunks = [bytes.subarray(0, 7), bytes.subarray(7, 1000), bytes.subarray(1000)];
  await pipeline(Readable.from(chunks), upload.writable);
  return upload;
}

async function put(store: BlobStore, bytes: Buffer): Promise<string> {
  const hash = sha256(bytes);
  const upload = await write(store, bytes);
  await upload.commit(hash);
  return hash;
}

export function blobStoreContract(name: string, open: OpenBlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;

    before(async () => {
      ({ store, cleanup } = await open());
    });
    after(async () => {
      await cleanup?.();
    });

    test('ping answers', async () => {
      await store.ping();
    });

    test('upload, commit, then stat and open give back the same bytes', async () => {
      const bytes = randomBytes(100_000);
      const hash = await put(store, bytes);
      assert.deepEqual(await store.stat(hash), { size: bytes.length });
      assert.ok((await readAll(await store.open(hash))).equals(bytes));
    });

    test('an empty blob round-trips', async () => {
      const bytes = Buffer.alloc(0);
      const upload = await store.beginUpload();
      const hash = sha256(bytes);
      await pipeline(Readable.from([]), upload.writable);
      await upload.commit(hash);
      assert.deepEqual(await store.stat(hash), { size: 0 });
      assert.equal((await readAll(await store.open(hash))).length, 0);
    });

    test('nothing is visible before commit', async () => {
      const bytes = randomBytes(5000);
      const hash = sha256(bytes);
      const upload = await write(store, bytes);
      assert.equal(await store.stat(hash), null);
      assert.ok(!(await collect(store.list())).includes(hash));
      await assert.rejects(store.open(hash), BlobNotFoundError);
      await upload.commit(hash);
      assert.deepEqual(await store.stat(hash), { size: 5000 });
      assert.ok((await collect(store.list())).includes(hash));
    });

    test('abort leaves nothing, and can be repeated', async () => {
      const bytes = randomBytes(5000);
      const hash = sha256(bytes);
      const upload = await write(store, bytes);
      await upload.abort();
      await upload.abort();
      assert.equal(await store.stat(hash), null);
      assert.ok(!(await collect(store.list())).includes(hash));
    });

    test('abort in the middle of writing leaves nothing', async () => {
      const upload = await store.beginUpload();
      upload.writable.write(randomBytes(1000));
      await upload.abort();
      await upload.abort();
    });

    test('committing the same bytes twice succeeds and stores them once', async () => {
      const bytes = randomBytes(3000);
      const first = await put(store, bytes);
      const second = await put(store, bytes);
      assert.equal(first, second);
      assert.deepEqual(await store.stat(first), { size: 3000 });
      assert.equal((await collect(store.list())).filter((hash) => hash === first).length, 1);
      assert.ok((await readAll(await store.open(first))).equals(bytes));
    });

    test('abort after commit does not remove the blob', async () => {
      const bytes = randomBytes(2000);
      const hash = sha256(bytes);
      const upload = await write(store, bytes);
      await upload.commit(hash);
      await upload.abort();
      assert.deepEqual(await store.stat(hash), { size: 2000 });
    });

    test('byte ranges: first byte, last byte, middle, whole', async () => {
      const bytes = randomBytes(10_000);
      const hash = await put(store, bytes);
      const read = async (range: ByteRange) => readAll(await store.open(hash, range));
      assert.ok((await read({ start: 0, end: 0 })).equals(bytes.subarray(0, 1)));
      assert.ok((await read({ start: 9999, end: 9999 })).equals(bytes.subarray(9999)));
      assert.ok((await read({ start: 1234, end: 5677 })).equals(bytes.subarray(1234, 5678)));
      assert.ok((await read({ start: 0, end: 9999 })).equals(bytes));
    });

    test('open of a missing blob rejects with BlobNotFoundError, stat is null', async () => {
      const hash = sha256(randomBytes(32));
      await assert.rejects(store.open(hash), BlobNotFoundError);
      await assert.rejects(store.open(hash, { start: 0, end: 0 }), BlobNotFoundError);
      assert.equal(await store.stat(hash), null);
    });

    test('delete removes the blob; deleting a missing blob succeeds', async () => {
      const hash = await put(store, randomBytes(1000));
      await store.delete(hash);
      assert.equal(await store.stat(hash), null);
      await assert.rejects(store.open(hash), BlobNotFoundError);
      assert.ok(!(await collect(store.list())).includes(hash));
      await store.delete(hash);
    });

    test('list is in ascending order and resumes after a given hash, a page at a time', async () => {
      for (let i = 0; i < 5; i++) await put(store, randomBytes(1200));
      const all = await collect(store.list());
      assert.deepEqual(all, [...all].sort());
      const middle = all[Math.floor(all.length / 2)]!;
      assert.deepEqual(
        await collect(store.list({ startAfter: middle, pageSize: 2 })),
        all.filter((hash) => hash > middle),
      );
      assert.deepEqual(await collect(store.list({ startAfter: all[all.length - 1]! })), []);
      // A hash that is not stored is a position like any other.
      const between = middle.slice(0, 63) + (middle.endsWith('0') ? '1' : '0');
      assert.deepEqual(
        await collect(store.list({ startAfter: between })),
        all.filter((hash) => hash > between),
      );
    });

    test('list returns every committed hash, each once', async () => {
      const hashes = [await put(store, randomBytes(10)), await put(store, randomBytes(20)), await put(store, randomBytes(30))];
      const listed = await collect(store.list());
      assert.equal(new Set(listed).size, listed.length);
      for (const hash of hashes) assert.ok(listed.includes(hash));
      for (const hash of listed) assert.match(hash, /^[0-9a-f]{64}$/);
    });

    test('malformed hashes are refused', async () => {
      const bad = '../../etc/passwd';
      await assert.rejects(store.stat(bad));
      await assert.rejects(store.open(bad));
      await assert.rejects(store.delete(bad));
      await assert.rejects(store.stat('A'.repeat(64)));
      const upload = await write(store, randomBytes(10));
      await assert.rejects(upload.commit(bad));
      await upload.abort();
    });

    test('sweepIncomplete spares recent uploads, and removes them once old enough', async () => {
      const fresh = randomBytes(2000);
      const freshUpload = await write(store, fresh);
      const stale = randomBytes(2000);
      const staleUpload = await write(store, stale);
      await staleUpload.commit(sha256(stale)); // committed: not an incomplete upload
      await store.sweepIncomplete(3_600_000);
      await freshUpload.commit(sha256(fresh)); // survived the sweep
      assert.deepEqual(await store.stat(sha256(fresh)), { size: 2000 });

      const leftover = randomBytes(2000);
      const leftoverUpload = await write(store, leftover);
      assert.ok((await store.sweepIncomplete(0)) >= 1);
      // its bytes are gone: it can no longer become visible
      await assert.rejects(leftoverUpload.commit(sha256(leftover)));
      await leftoverUpload.abort();
      assert.equal(await store.stat(sha256(leftover)), null);
      // committed blobs are never swept
      assert.deepEqual(await store.stat(sha256(stale)), { size: 2000 });
    });

    test('totalBytes is null or grows with a new blob and shrinks when it is deleted', async () => {
      const before = await store.totalBytes();
      const hash = await put(store, randomBytes(4321));
      const during = await store.totalBytes();
      await store.delete(hash);
      const afterDelete = await store.totalBytes();
      if (before === null) {
        assert.equal(during, null);
        return;
      }
      assert.equal(during, before + 4321);
      assert.equal(afterDelete, before);
    });

    test('a 64 MiB streamed upload round-trips', async () => {
      const chunk = 1024 * 1024;
      const count = 64;
      const writeHash = createHash('sha256');
      let produced = 0;
      // Random chunks produced on demand: the whole 64 MiB never sits in memory.
      const source = new Readable({
        read() {
          if (produced === count) {
            this.push(null);
            return;
          }
          produced += 1;
          const bytes = randomBytes(chunk);
          writeHash.update(bytes);
          this.push(bytes);
        },
      });
      const upload = await store.beginUpload();
      await pipeline(source, upload.writable);
      const hash = writeHash.digest('hex');
      await upload.commit(hash);
      assert.deepEqual(await store.stat(hash), { size: chunk * count });

      const readHash = createHash('sha256');
      let readBytes = 0;
      await pipeline(
        await store.open(hash),
        new Writable({
          write(data: Buffer, _encoding, callback) {
            readHash.update(data);
            readBytes += data.length;
            callback();
          },
        }),
      );
      assert.equal(readBytes, chunk * count);
      assert.equal(readHash.digest('hex'), hash);

      const tail = await readAll(await store.open(hash, { start: chunk * count - 10, end: chunk * count - 1 }));
      assert.equal(tail.length, 10);
      await store.delete(hash);
    });
  });
}
