// extrepo-test-backends: each
// The garbage collector (src/domain/garbage-collector.ts) over the configured backend: it removes
// unreferenced blobs and incomplete uploads older than the grace period, and never a blob that an
// upload is committing and about to reference.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { collectGarbage } from '../src/domain/garbage-collector.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function writeBlob(bytes: Buffer, commit: boolean): Promise<string> {
  const upload = await server.blobs.beginUpload();
  await pipeline(Readable.from([bytes]), upload.writable);
  const hash = sha256(bytes);
  if (commit) await upload.commit(hash);
  return hash;
}

function reference(id: string, hash: string, size: number) {
  return server.store.insertExtension({
    id,
    name: id,
    version: '*',
    extensionType: 'bundle',
    description: null,
    downloadUrl: null,
    file: { sha256: hash, size, uploadedAt: new Date() },
    ownerId: null,
    now: new Date(),
  });
}

const committed = async () => (await server.storedFiles()).filter((file) => file.startsWith('sha256')).map((file) => file.split('/').pop());
const incomplete = async () => (await server.storedFiles()).filter((file) => !file.startsWith('sha256'));

describe(`garbage collection (${process.env.EXTREPO_TEST_BACKEND || 'sqlite-fs'})`, () => {
  test('removes blobs nothing references and keeps the referenced ones', async () => {
    const kept = randomBytes(500);
    const keptHash = await writeBlob(kept, true);
    await reference('0000000001', keptHash, kept.length);
    const orphanHash = await writeBlob(randomBytes(500), true);
    const result = await collectGarbage(server.store, server.blobs, 60_000);
    assert.equal(result.collected, 1);
    const left = await committed();
    assert.ok(left.includes(keptHash));
    assert.ok(!left.includes(orphanHash));
  });

  test('keeps a blob only a kept file version points at, and removes it once the version is pruned', async () => {
    const old = randomBytes(400);
    const oldHash = await writeBlob(old, true);
    await reference('0000000003', oldHash, old.length);
    const next = randomBytes(400);
    const nextHash = await writeBlob(next, true);
    const replace = (keepFileVersions?: number) =>
      server.store.updateExtension('0000000003', {
        name: '0000000003',
        version: '*',
        description: null,
        downloadUrl: null,
        file: { sha256: nextHash, size: next.length, uploadedAt: new Date() },
        ...(keepFileVersions === undefined ? {} : { keepFileVersions }),
        now: new Date(),
      });
    await replace(); // the old file is now only version 1
    await collectGarbage(server.store, server.blobs, 60_000);
    assert.ok((await committed()).includes(oldHash), 'a kept version is a reference');
    await replace(1); // prunes version 1 (the store reports the orphan; a collection removes it too)
    await collectGarbage(server.store, server.blobs, 60_000);
    assert.ok(!(await committed()).includes(oldHash));
    assert.ok((await committed()).includes(nextHash));
  });

  test('removes sessions whose tokens expired, and keeps live and revoked-but-unexpired ones', async () => {
    const now = new Date();
    const session = (label: string, expiresInMs: number) => ({
      id: `gc-${label}-${randomBytes(6).toString('hex')}`,
      userId: 'gc-user',
      createdAt: new Date(now.getTime() - 3_600_000),
      expiresAt: new Date(now.getTime() + expiresInMs),
      revokedAt: null,
    });
    const expired = session('expired', -1000);
    const live = session('live', 60_000);
    const revoked = session('revoked', 60_000);
    for (const s of [expired, live, revoked]) await server.store.insertSession(s);
    await server.store.revokeSession(revoked.id, now);
    const result = await collectGarbage(server.store, server.blobs, 60_000, now);
    assert.ok(result.expiredSessions >= 1);
    assert.equal(await server.store.getSession(expired.id), null);
    assert.equal((await server.store.getSession(live.id))?.id, live.id);
    assert.equal((await server.store.getSession(revoked.id))?.revokedAt?.getTime(), now.getTime());
  });

  test('leaves incomplete uploads younger than the grace period, removes them with none', async () => {
    await writeBlob(randomBytes(300), false);
    assert.ok((await incomplete()).length >= 1);
    assert.equal((await collectGarbage(server.store, server.blobs, 3_600_000)).swept, 0);
    assert.ok((await incomplete()).length >= 1);
    assert.ok((await collectGarbage(server.store, server.blobs, 0)).swept >= 1);
    assert.deepEqual(await incomplete(), []);
  });

  test('never removes a blob that an upload has committed and is about to reference', async () => {
    const bytes = randomBytes(700);
    const hash = sha256(bytes);
    const upload = await server.blobs.beginUpload();
    await pipeline(Readable.from([bytes]), upload.writable);
    let collecting: Promise<unknown> = Promise.resolve();
    // What ExtensionService.storeWithFile does: commit and reference under the blob lock. A
    // collection that starts in between must wait for the lock, then find the reference.
    await server.store.withBlobLock(hash, async () => {
      await upload.commit(hash);
      collecting = collectGarbage(server.store, server.blobs, 0);
      await delay(200);
      await reference('0000000002', hash, bytes.length);
    });
    await collecting;
    assert.ok((await committed()).includes(hash));
    assert.equal((await server.blobs.stat(hash))?.size, bytes.length);
  });

  test('checks blobs a batch at a time, reporting its progress after each batch', async () => {
    const referencedHashes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const bytes = randomBytes(200);
      referencedHashes.push(await writeBlob(bytes, true));
      await reference(`00000001${i}0`, referencedHashes[i]!, bytes.length);
    }
    const orphans: string[] = [];
    for (let i = 0; i < 4; i++) orphans.push(await writeBlob(randomBytes(200), true));
    const total = (await committed()).length;
    const progress: Array<{ listed: number; collected: number }> = [];
    const result = await collectGarbage(server.store, server.blobs, 60_000, new Date(), {
      batchSize: 2,
      onProgress: (step) => progress.push(step),
    });
    assert.equal(result.collected, orphans.length);
    assert.equal(progress.length, Math.ceil(total / 2));
    progress.forEach((step, index) => assert.equal(step.listed, Math.min(2 * (index + 1), total)));
    assert.equal(progress.at(-1)?.collected, orphans.length);
    const left = await committed();
    for (const hash of referencedHashes) assert.ok(left.includes(hash));
    for (const hash of orphans) assert.ok(!left.includes(hash));
  });
});
