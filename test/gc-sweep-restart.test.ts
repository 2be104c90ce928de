// extrepo-test-backends: each
// Garbage collection in real extrepo processes (src/domain/garbage-collector.ts): the full sweep lists
// a bounded number of blobs per cycle and resumes from its persisted cursor after a restart (also a
// kill -9), listing every blob exactly once; once it has finished, a regular cycle checks only the
// recorded candidates and lists no blob. Each start runs one collection (EXTREPO_GC_INTERVAL_SECONDS=0),
// whose result line the test reads from the server's log; the stores are inspected between starts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config.js';
import type { GarbageCollection } from '../src/domain/garbage-collector.js';
import type { BlobStore } from '../src/stores/blob-store.js';
import type { MetadataStore } from '../src/stores/metadata-store.js';
import { openStores, storeOptionsFromConfig } from '../src/stores/open-stores.js';
import { backendEnv, type BackendEnv } from './helpers/backend-env.js';
import { startInstance } from './helpers/instance.js';
import { ADMIN_KEY } from './helpers/server.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Only a guard against a hang: the collection's log line is what the test waits for. */
const COLLECTION_TIMEOUT_MS = 120_000;
const PER_CYCLE = 3;

let backend: BackendEnv;
let dataDir: string;
let env: Record<string, string>;

before(async () => {
  backend = await backendEnv();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-gc-sweep-'));
  env = { ...backend.env, EXTREPO_DATA_DIR: dataDir, EXTREPO_ADMIN_API_KEY: ADMIN_KEY };
  // The SDK's credential chain reads this process's environment when the test opens the stores.
  if (backend.env.AWS_ACCESS_KEY_ID) {
    process.env.AWS_ACCESS_KEY_ID ??= backend.env.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY ??= backend.env.AWS_SECRET_ACCESS_KEY;
  }
});
after(async () => {
  await backend?.release();
  await rm(dataDir, { recursive: true, force: true });
});

/** Opens the stores the instances use (never while one runs: the embedded store is exclusive). */
async function withStores<T>(fn: (store: MetadataStore, blobs: BlobStore) => Promise<T>): Promise<T> {
  const { metadata, blobs } = await openStores(await storeOptionsFromConfig(loadConfig({ ...env, EXTREPO_LOG_LEVEL: 'silent' })));
  try {
    return await fn(metadata, blobs);
  } finally {
    await Promise.allSettled([metadata.close(), blobs.close()]);
  }
}

async function commitBlob(blobs: BlobStore, bytes: Buffer): Promise<string> {
  const upload = await blobs.beginUpload();
  await pipeline(Readable.from([bytes]), upload.writable);
  await upload.commit(sha256(bytes));
  return sha256(bytes);
}

async function listAll(blobs: BlobStore): Promise<string[]> {
  const found: string[] = [];
  for await (const hash of blobs.list()) found.push(hash);
  return found;
}

/** Starts an instance, waits for its start-up collection's result line, then stops (or kills) it. */
async function oneCollection(end: 'stop' | 'kill' = 'stop'): Promise<GarbageCollection> {
  const instance = await startInstance({
    ...env,
    EXTREPO_LOG_LEVEL: 'info',
    EXTREPO_GC_INTERVAL_SECONDS: '0',
    EXTREPO_GC_FULL_SWEEP_BLOBS_PER_CYCLE: String(PER_CYCLE),
  });
  try {
    const deadline = Date.now() + COLLECTION_TIMEOUT_MS;
    for (;;) {
      const line = instance
        .output()
        .split('\n')
        .find((text) => text.includes('start-up garbage collection finished'));
      if (line !== undefined) return JSON.parse(line) as GarbageCollection;
      if (Date.now() > deadline || instance.child.exitCode !== null) throw new Error(`no collection result:\n${instance.output()}`);
      await delay(50);
    }
  } finally {
    if (end === 'kill') await instance.kill();
    else await instance.stop();
  }
}

describe(`garbage collection across restarts (${process.env.EXTREPO_TEST_BACKEND || 'sqlite-fs'})`, () => {
  let referenced: string[] = [];
  let orphans: string[] = [];

  test('the full sweep lists a bounded number of blobs per cycle and resumes from its cursor after a restart', async () => {
    ({ referenced, orphans } = await withStores(async (store, blobs) => {
      const kept: string[] = [];
      for (let i = 0; i < 2; i++) {
        const bytes = randomBytes(100);
        const hash = await commitBlob(blobs, bytes);
        await store.insertExtension({
          id: `77000000${i}0`,
          name: `kept-${i}`,
          version: '*',
          extensionType: 'bundle',
          description: null,
          downloadUrl: null,
          file: { sha256: hash, size: bytes.length, uploadedAt: new Date() },
          ownerId: null,
          now: new Date(),
        });
        kept.push(hash);
      }
      const unreferenced: string[] = [];
      for (let i = 0; i < 6; i++) unreferenced.push(await commitBlob(blobs, randomBytes(100)));
      // Uploads record their blob as a candidate; these were written past the API, so only the sweep finds them.
      return { referenced: kept, orphans: unreferenced };
    }));
    const all = [...referenced, ...orphans].sort();

    const results: GarbageCollection[] = [];
    const cursors: Array<string | null> = [];
    for (let start = 0; start < 4; start++) {
      // Every other start ends with kill -9: the cursor was saved with the batch, not at shutdown.
      const result = await oneCollection(start % 2 === 0 ? 'stop' : 'kill');
      results.push(result);
      const state = await withStores((store) => store.gcState.getGcSweep());
      assert.equal(state.startAfter, result.sweepCursor, 'the logged cursor is the persisted one');
      cursors.push(state.startAfter);
      const left = await withStores((_store, blobs) => listAll(blobs));
      if (result.sweep === 'in progress') {
        // Everything up to the cursor was checked: its orphans are gone, the rest is untouched.
        for (const hash of orphans) assert.equal(left.includes(hash), hash > state.startAfter!, `orphan ${hash.slice(0, 8)}`);
      }
      if (result.sweep === 'finished') break;
    }
    assert.deepEqual(
      results.map((result) => result.listed),
      [PER_CYCLE, PER_CYCLE, all.length - 2 * PER_CYCLE],
      'each start listed at most its share, and went on where the previous one stopped',
    );
    assert.deepEqual(
      results.map((result) => result.sweep),
      ['in progress', 'in progress', 'finished'],
    );
    assert.deepEqual(cursors, [all[PER_CYCLE - 1], all[2 * PER_CYCLE - 1], null]);
    const left = await withStores((_store, blobs) => listAll(blobs));
    assert.deepEqual(left, [...referenced].sort());
  });

  test('after the sweep, a regular cycle checks the candidates and lists no blob', async () => {
    const { unrelated, crashed } = await withStores(async (store, blobs) => {
      const unrelatedHash = await commitBlob(blobs, randomBytes(100)); // an orphan no candidate names
      // An upload that recorded its candidate and committed, then died before storing the reference.
      const bytes = randomBytes(100);
      await store.gcState.recordGcCandidates([sha256(bytes)], new Date());
      return { unrelated: unrelatedHash, crashed: await commitBlob(blobs, bytes) };
    });
    const before = await withStores((store) => store.gcState.getGcSweep());
    const result = await oneCollection();
    assert.equal(result.sweep, 'idle');
    assert.equal(result.listed, 0);
    assert.equal(result.candidates, 1);
    assert.equal(result.collected, 1);
    assert.deepEqual(await withStores((store) => store.gcState.getGcSweep()), before, 'the sweep state did not change');
    const left = await withStores((_store, blobs) => listAll(blobs));
    assert.ok(!left.includes(crashed));
    assert.ok(left.includes(unrelated), 'not listed, so left to the next full sweep');
    assert.equal(await withStores((store) => store.gcState.countGcCandidates()), 0);
  });
});
