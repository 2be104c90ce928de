// extrepo-test-backends: each
// The garbage collector (src/domain/garbage-collector.ts) over the configured backend: it removes
// unreferenced blobs and incomplete uploads older than the grace period, and never a blob that an
// upload is committing and about to reference.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { collectGarbage, type CollectOptions } from '../src/domain/garbage-collector.js';
import { bundleZip } from './helpers/archives.js';
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

  describe('in proportion to what changed', () => {
    const step = (blobsPerCycle: number, intervalMs = 3_600_000): CollectOptions => ({ sweep: { mode: 'step', blobsPerCycle, intervalMs } });

    test('a regular cycle checks only the recorded candidates: a blob no candidate names is not listed', async () => {
      await collectGarbage(server.store, server.blobs, 60_000); // a complete sweep, just finished
      const unrelated = await writeBlob(randomBytes(300), true); // an orphan nothing recorded
      const crashed = randomBytes(300);
      const crashedHash = sha256(crashed);
      // What an upload does before committing, and then a crash before the reference is stored.
      await server.store.gcState.recordGcCandidates([crashedHash], new Date());
      await writeBlob(crashed, true);
      const before = await server.store.gcState.getGcSweep();
      const result = await collectGarbage(server.store, server.blobs, 60_000, new Date(), step(1000));
      assert.equal(result.sweep, 'idle');
      assert.equal(result.listed, 0, 'no blob listed');
      assert.equal(result.candidates, 1);
      assert.equal(result.collected, 1);
      assert.deepEqual(await server.store.gcState.getGcSweep(), before, 'the sweep did not move');
      const left = await committed();
      assert.ok(!left.includes(crashedHash));
      assert.ok(left.includes(unrelated), 'left to the next full sweep');
      assert.deepEqual(await server.store.gcState.listGcCandidates(null, 10), []);
      // Once the interval has passed, the sweep finds it.
      const due = await collectGarbage(server.store, server.blobs, 60_000, new Date(Date.now() + 3_600_000), step(1_000_000));
      assert.equal(due.sweep, 'finished');
      assert.ok(due.listed >= 1);
      assert.ok(!(await committed()).includes(unrelated));
    });

    test('an upload through the API records its blob and a delete the blob it frees; each next cycle checks them without listing', async () => {
      await collectGarbage(server.store, server.blobs, 60_000);
      const create = await server.api('POST', '/api/v1/deployments/extensions', {
        json: { name: 'gc-candidates', version: '*', extension_type: 'bundle' },
      });
      assert.equal(create.status, 201);
      const id = (create.body as { id: string }).id;
      const first = await bundleZip('first\n');
      const put = (zip: Buffer) =>
        server.api('PUT', `/api/v1/deployments/extensions/${id}`, { body: zip, headers: { 'content-type': 'application/zip' } });
      assert.equal((await put(first)).status, 200);
      assert.deepEqual(
        (await server.store.gcState.listGcCandidates(null, 10)).map((c) => c.sha256),
        [sha256(first)],
      );
      const result = await collectGarbage(server.store, server.blobs, 60_000, new Date(), step(1000));
      assert.deepEqual([result.candidates, result.collected, result.listed], [1, 0, 0], 'checked, referenced, kept');
      assert.equal((await server.api('DELETE', `/api/v1/deployments/extensions/${id}`)).status, 200);
      // The delete removed the blob at once; the candidate it recorded is checked and forgotten.
      const after = await collectGarbage(server.store, server.blobs, 60_000, new Date(), step(1000));
      assert.deepEqual([after.candidates, after.collected, after.listed], [1, 0, 0]);
      assert.deepEqual(await server.store.gcState.listGcCandidates(null, 10), []);
      assert.ok(!(await committed()).includes(sha256(first)));
    });

    test('the full sweep lists a bounded number of blobs per cycle and resumes after its persisted cursor', async () => {
      await collectGarbage(server.store, server.blobs, 60_000);
      const orphans: string[] = [];
      for (let i = 0; i < 3; i++) orphans.push(await writeBlob(randomBytes(250), true));
      const total = (await committed()).length;
      const later = new Date(Date.now() + 3_600_000); // the last sweep is an interval old: one is due
      const cursors: string[] = [];
      let listed = 0;
      let outcome = 'in progress';
      for (let cycle = 0; outcome === 'in progress' && cycle <= total; cycle++) {
        const result = await collectGarbage(server.store, server.blobs, 60_000, later, step(2));
        assert.ok(result.listed <= 2);
        listed += result.listed;
        outcome = result.sweep;
        const state = await server.store.gcState.getGcSweep();
        if (outcome === 'in progress') {
          assert.equal(state.startAfter, result.sweepCursor, 'the cursor is persisted');
          assert.ok(
            cursors.every((cursor) => cursor < state.startAfter!),
            'and only moves forward',
          );
          cursors.push(state.startAfter!);
        }
      }
      assert.equal(outcome, 'finished');
      assert.equal(listed, total, 'every blob listed exactly once over the cycles');
      assert.ok(cursors.length >= Math.floor(total / 2) - 1);
      const state = await server.store.gcState.getGcSweep();
      assert.equal(state.startAfter, null);
      assert.equal(state.startedAt, null);
      assert.ok(state.finishedAt !== null);
      const left = await committed();
      for (const hash of orphans) assert.ok(!left.includes(hash));
    });
  });
});
