// The behaviour every MetadataStore must have, written once and run against each implementation
// (SQLite, PostgreSQL). One store is opened per suite; tests use their own ids and owners so they
// do not depend on each other or on what the store already holds.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  FileConflictError,
  FileVersionNotFoundError,
  IdCollisionError,
  LastAdminError,
  NotFoundError,
  UserOwnsExtensionsError,
  VersionConflictError,
  type ApiKeyRecord,
  type ExtensionChanges,
  type ExtensionRecord,
  type UserRecord,
  type ExtensionFile,
  type MetadataStore,
  type NewExtension,
} from '../../src/stores/metadata-store.js';

export type OpenMetadataStore = () => Promise<{ store: MetadataStore; cleanup: () => Promise<void> }>;

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

function uid(label = 'x'): string {
  return `${label}-${randomUUID()}`;
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function fileOf(label: string, size = 123, at = T0): ExtensionFile {
  return { sha256: hashOf(label + randomUUID()), size, uploadedAt: new Date(at) };
}

/**
 * A record's fields as a plain object. The contract is the fields: a store may build its records
 * with a class (src/stores/sql/extension-tuple.ts explains why), which deepEqual would otherwise reject.
 */
function fieldsOf(record: ExtensionRecord | null | undefined): ExtensionRecord | null | undefined {
  if (record === null || record === undefined) return record;
  return { ...record, file: record.file === null ? null : { ...record.file } };
}

function newExtension(overrides: Partial<NewExtension> = {}): NewExtension {
  return {
    id: uid('ext'),
    name: 'analysis-icu',
    version: '8.*',
    extensionType: 'plugin',
    description: 'ICU analysis',
    downloadUrl: null,
    file: null,
    ownerId: 'owner-1',
    now: new Date(T0),
    ...overrides,
  };
}

function changes(overrides: Partial<ExtensionChanges> = {}): ExtensionChanges {
  return {
    name: 'renamed',
    version: '9.*',
    description: null,
    downloadUrl: 'https://example.com/x.zip',
    now: new Date(T0 + 60_000),
    ...overrides,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function metadataStoreContract(name: string, open: OpenMetadataStore): void {
  describe(`MetadataStore contract: ${name}`, () => {
    let store: MetadataStore;
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

    test('close may be called again, and ping then fails', async () => {
      const other = await open();
      try {
        await other.store.close();
        await other.store.close();
        await assert.rejects(other.store.ping());
      } finally {
        await other.cleanup();
      }
    });

    describe('extensions', () => {
      test('insert returns the record at version 1, and get returns it unchanged', async () => {
        const file = fileOf('a', 4096);
        const input = newExtension({ file, downloadUrl: 'https://example.com/a.zip' });
        const inserted = await store.insertExtension(input);
        const expected = {
          id: input.id,
          name: 'analysis-icu',
          version: '8.*',
          extensionType: 'plugin',
          description: 'ICU analysis',
          downloadUrl: 'https://example.com/a.zip',
          file,
          ownerId: 'owner-1',
          resourceVersion: 1,
          createdAt: new Date(T0),
          modifiedAt: new Date(T0),
        };
        assert.deepEqual(fieldsOf(inserted), expected);
        assert.deepEqual(fieldsOf(await store.getExtension(input.id)), expected);
      });

      test('nullable fields round-trip as null', async () => {
        const input = newExtension({ description: null, downloadUrl: null, file: null, ownerId: null, extensionType: 'bundle' });
        await store.insertExtension(input);
        const stored = await store.getExtension(input.id);
        assert.ok(stored);
        assert.equal(stored.description, null);
        assert.equal(stored.downloadUrl, null);
        assert.equal(stored.file, null);
        assert.equal(stored.ownerId, null);
        assert.equal(stored.extensionType, 'bundle');
      });

      test('get of an unknown id is null', async () => {
        assert.equal(await store.getExtension(uid('missing')), null);
      });

      test('lists page by page with after + limit, in creation order with ids breaking ties', async () => {
        const owner = uid('pager');
        const base = T0 + 10 * 365 * 24 * 3600 * 1000; // after every other test's rows
        const made: ExtensionRecord[] = [];
        for (let i = 0; i < 7; i++) {
          // two extensions share each creation time, so the id decides their order
          made.push(await store.insertExtension(newExtension({ ownerId: owner, now: new Date(base + Math.floor(i / 2) * 1000) })));
        }
        const expected = [...made].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1)).map((r) => r.id);
        const whole = (await store.listExtensions({ ownerId: owner })).map((r) => r.id);
        assert.deepEqual(whole, expected);
        const paged: string[] = [];
        let after: { createdAt: Date; id: string } | undefined;
        for (;;) {
          const page = await store.listExtensions({ ownerId: owner, limit: 3, ...(after ? { after } : {}) });
          assert.ok(page.length <= 3);
          paged.push(...page.map((r) => r.id));
          if (page.length < 3) break;
          const last = page[page.length - 1]!;
          after = { createdAt: last.createdAt, id: last.id };
        }
        assert.deepEqual(paged, expected);
        const cursor = made.find((r) => r.id === expected[4])!;
        const everyone = await store.listExtensions({ after: { createdAt: cursor.createdAt, id: cursor.id }, limit: 100 });
        assert.ok(everyone.every((r) => r.createdAt.getTime() >= cursor.createdAt.getTime()));
        assert.deepEqual(
          everyone.filter((r) => r.ownerId === owner).map((r) => r.id),
          expected.slice(5),
        );
      });

      test('timestamps keep millisecond precision and come back as Dates', async () => {
        const at = Date.UTC(2031, 11, 31, 23, 59, 59, 999);
        const file = fileOf('ms', 1, at + 1);
        const input = newExtension({ now: new Date(at), file });
        await store.insertExtension(input);
        const stored = await store.getExtension(input.id);
        assert.ok(stored?.createdAt instanceof Date);
        assert.equal(stored.createdAt.getTime(), at);
        assert.equal(stored.modifiedAt.getTime(), at);
        assert.ok(stored.file?.uploadedAt instanceof Date);
        assert.equal(stored.file.uploadedAt.getTime(), at + 1);
      });

      test('large file sizes round-trip as numbers', async () => {
        const file = fileOf('big', 7 * 1024 ** 4 + 3); // 7 TiB: beyond 32 bits
        const input = newExtension({ file });
        await store.insertExtension(input);
        assert.equal((await store.getExtension(input.id))?.file?.size, 7 * 1024 ** 4 + 3);
      });

      test('insert of an existing id throws IdCollisionError and changes nothing', async () => {
        const input = newExtension();
        await store.insertExtension(input);
        await assert.rejects(store.insertExtension({ ...input, name: 'other' }), IdCollisionError);
        assert.equal((await store.getExtension(input.id))?.name, 'analysis-icu');
      });

      test('list orders by creation time, then id', async () => {
        const owner = uid('owner');
        const c = await store.insertExtension(newExtension({ id: uid('c'), ownerId: owner, now: new Date(T0 + 2) }));
        const b = await store.insertExtension(newExtension({ id: `b-${c.id}`, ownerId: owner, now: new Date(T0 + 1) }));
        const a = await store.insertExtension(newExtension({ id: `a-${c.id}`, ownerId: owner, now: new Date(T0 + 1) }));
        const d = await store.insertExtension(newExtension({ id: uid('d'), ownerId: owner, now: new Date(T0 - 5) }));
        const ours = new Set([a.id, b.id, c.id, d.id]);
        const all = (await store.listExtensions()).filter((record) => ours.has(record.id));
        assert.deepEqual(
          all.map((record) => record.id),
          [d.id, a.id, b.id, c.id],
        );
        assert.deepEqual(fieldsOf(all[0]), fieldsOf(d));
      });

      test('list filters by owner', async () => {
        const owner = uid('owner');
        const mine1 = await store.insertExtension(newExtension({ ownerId: owner }));
        const mine2 = await store.insertExtension(newExtension({ ownerId: owner, now: new Date(T0 + 1) }));
        const theirs = await store.insertExtension(newExtension({ ownerId: uid('someone-else') }));
        const listed = await store.listExtensions({ ownerId: owner });
        assert.deepEqual(listed.map(fieldsOf), [mine1, mine2].map(fieldsOf));
        assert.deepEqual(await store.listExtensions({ ownerId: uid('nobody') }), []);
        const all = await store.listExtensions({});
        assert.ok(all.some((record) => record.id === theirs.id));
        assert.ok(all.some((record) => record.id === mine1.id));
      });

      test('update replaces the metadata, keeps identity fields, bumps the version', async () => {
        const file = fileOf('keep');
        const created = await store.insertExtension(newExtension({ file }));
        const result = await store.updateExtension(created.id, changes());
        const expected = {
          ...fieldsOf(created)!,
          name: 'renamed',
          version: '9.*',
          description: null,
          downloadUrl: 'https://example.com/x.zip',
          file, // undefined in the changes keeps the file
          resourceVersion: 2,
          modifiedAt: new Date(T0 + 60_000),
        };
        assert.deepEqual({ ...result, record: fieldsOf(result.record) }, { record: expected, orphanedBlobs: [] });
        assert.deepEqual(fieldsOf(await store.getExtension(created.id)), expected);
        const again = await store.updateExtension(created.id, changes({ description: 'back', now: new Date(T0 + 120_000) }));
        assert.equal(again.record.resourceVersion, 3);
        assert.equal(again.record.description, 'back');
        assert.equal(again.record.createdAt.getTime(), T0);
      });

      test('update with a file sets or replaces it', async () => {
        const created = await store.insertExtension(newExtension());
        const first = fileOf('first', 10, T0 + 5);
        const withFile = await store.updateExtension(created.id, changes({ file: first }));
        assert.deepEqual({ ...withFile.record.file }, first);
        assert.deepEqual(withFile.orphanedBlobs, []); // there was no file before
        assert.deepEqual({ ...(await store.getExtension(created.id))?.file }, first);
      });

      test('conditional update applies only at the expected version', async () => {
        const created = await store.insertExtension(newExtension());
        const ok = await store.updateExtension(created.id, changes(), 1);
        assert.equal(ok.record.resourceVersion, 2);
        await assert.rejects(store.updateExtension(created.id, changes({ name: 'stale' }), 1), (error: unknown) => {
          assert.ok(error instanceof VersionConflictError);
          assert.equal(error.expected, 1);
          assert.equal(error.actual, 2);
          return true;
        });
        const stored = await store.getExtension(created.id);
        assert.equal(stored?.name, 'renamed');
        assert.equal(stored?.resourceVersion, 2);
      });

      test('update and delete of an unknown id throw NotFoundError', async () => {
        await assert.rejects(store.updateExtension(uid('missing'), changes()), NotFoundError);
        await assert.rejects(store.updateExtension(uid('missing'), changes(), 1), NotFoundError);
        await assert.rejects(store.deleteExtension(uid('missing')), NotFoundError);
        await assert.rejects(store.deleteExtension(uid('missing'), 1), NotFoundError);
      });

      test('delete returns the deleted record and removes it', async () => {
        const created = await store.insertExtension(newExtension());
        const result = await store.deleteExtension(created.id);
        assert.deepEqual({ ...result, record: fieldsOf(result.record) }, { record: fieldsOf(created), orphanedBlobs: [] });
        assert.equal(await store.getExtension(created.id), null);
        await assert.rejects(store.deleteExtension(created.id), NotFoundError);
        // the id is free again
        await store.insertExtension(newExtension({ id: created.id }));
      });

      test('conditional delete applies only at the expected version', async () => {
        const created = await store.insertExtension(newExtension());
        await store.updateExtension(created.id, changes());
        await assert.rejects(store.deleteExtension(created.id, 1), (error: unknown) => {
          assert.ok(error instanceof VersionConflictError);
          assert.equal(error.expected, 1);
          assert.equal(error.actual, 2);
          return true;
        });
        assert.ok(await store.getExtension(created.id));
        const deleted = await store.deleteExtension(created.id, 2);
        assert.equal(deleted.record.resourceVersion, 2);
      });

      test('two concurrent conditional updates at the same version: exactly one wins', async () => {
        for (let round = 0; round < 5; round += 1) {
          const created = await store.insertExtension(newExtension());
          const outcomes = await Promise.allSettled([
            store.updateExtension(created.id, changes({ name: 'left' }), 1),
            store.updateExtension(created.id, changes({ name: 'right' }), 1),
          ]);
          const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
          const losers = outcomes.filter((outcome) => outcome.status === 'rejected');
          assert.equal(winners.length, 1);
          assert.equal(losers.length, 1);
          assert.ok(losers[0]?.status === 'rejected' && losers[0].reason instanceof VersionConflictError);
          const stored = await store.getExtension(created.id);
          assert.equal(stored?.resourceVersion, 2);
          assert.equal(stored?.name, winners[0]?.status === 'fulfilled' ? winners[0].value.record.name : undefined);
        }
      });

      test('a conditional update racing a conditional delete: exactly one wins', async () => {
        const created = await store.insertExtension(newExtension());
        const outcomes = await Promise.allSettled([store.updateExtension(created.id, changes(), 1), store.deleteExtension(created.id, 1)]);
        assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
        const loser = outcomes.find((outcome) => outcome.status === 'rejected');
        assert.ok(loser?.status === 'rejected');
        assert.ok(loser.reason instanceof VersionConflictError || loser.reason instanceof NotFoundError);
      });
    });

    describe('blob references', () => {
      test('a blob shared by two extensions is orphaned only when the last reference goes', async () => {
        const shared = fileOf('shared');
        const other = fileOf('other');
        const a = await store.insertExtension(newExtension({ file: shared }));
        const b = await store.insertExtension(newExtension({ file: shared }));
        assert.equal(await store.countBlobReferences(shared.sha256), 2);

        // Keeping one file version, a's old file leaves its history at once.
        const replaced = await store.updateExtension(a.id, changes({ file: other, keepFileVersions: 1 }));
        assert.deepEqual(replaced.orphanedBlobs, [], 'b still references the shared blob');
        assert.equal(await store.countBlobReferences(shared.sha256), 1);

        const deleted = await store.deleteExtension(b.id);
        assert.deepEqual(deleted.orphanedBlobs, [shared.sha256]);
        assert.equal(await store.countBlobReferences(shared.sha256), 0);

        const last = await store.deleteExtension(a.id);
        assert.deepEqual(last.orphanedBlobs, [other.sha256]);
      });

      test('keeping one file version, replacing a file orphans the old one; the same hash again orphans nothing', async () => {
        const first = fileOf('one');
        const second = fileOf('two');
        const created = await store.insertExtension(newExtension({ file: first }));
        const replaced = await store.updateExtension(created.id, changes({ file: second, keepFileVersions: 1 }));
        assert.deepEqual(replaced.orphanedBlobs, [first.sha256]);
        const same = await store.updateExtension(created.id, changes({ file: { ...second, uploadedAt: new Date(T0 + 9) }, keepFileVersions: 1 }));
        assert.deepEqual(same.orphanedBlobs, []);
        assert.equal(same.record.file?.uploadedAt.getTime(), T0 + 9);
        const kept = await store.updateExtension(created.id, changes());
        assert.deepEqual(kept.orphanedBlobs, []);
        assert.deepEqual(kept.record.file?.sha256, second.sha256);
      });

      test('deleting an extension without a file orphans nothing', async () => {
        const created = await store.insertExtension(newExtension());
        assert.deepEqual((await store.deleteExtension(created.id)).orphanedBlobs, []);
      });

      test('countBlobReferences of an unknown hash is 0', async () => {
        assert.equal(await store.countBlobReferences(hashOf(uid())), 0);
      });

      test('unreferencedAmong returns exactly the hashes nothing references, in one call for a whole batch', async () => {
        const kept = fileOf('kept');
        const released = fileOf('released');
        const never = hashOf(uid());
        await store.insertExtension(newExtension({ file: kept }));
        await store.insertExtension(newExtension({ file: kept }));
        const gone = await store.insertExtension(newExtension({ file: released }));
        await store.insertExtension(newExtension({ file: null }));
        assert.deepEqual(await store.unreferencedAmong([kept.sha256, released.sha256, never, never]), [never]);
        await store.deleteExtension(gone.id);
        assert.deepEqual((await store.unreferencedAmong([never, released.sha256, kept.sha256])).sort(), [never, released.sha256].sort());
        assert.deepEqual(await store.unreferencedAmong([]), []);
        // A batch as large as garbage collection sends.
        const many = Array.from({ length: 1000 }, () => hashOf(uid()));
        assert.equal((await store.unreferencedAmong([...many, kept.sha256])).length, 1000);
      });
    });

    describe('garbage-collection state', () => {
      /** The candidates among `hashes` (other tests record theirs in the same store). */
      async function candidatesAmong(hashes: readonly string[]) {
        const wanted = new Set(hashes);
        const found = [];
        let after: string | null = null;
        for (;;) {
          const page = await store.gcState.listGcCandidates(after, 500);
          found.push(...page.filter((candidate) => wanted.has(candidate.sha256)));
          if (page.length < 500) return found;
          after = page[page.length - 1]!.sha256;
        }
      }

      test('a change records the blobs it orphans as candidates in its own transaction, and only those', async () => {
        const shared = fileOf('gc-shared');
        const old = fileOf('gc-old');
        const next = fileOf('gc-next');
        const a = await store.insertExtension(newExtension({ file: shared }));
        const b = await store.insertExtension(newExtension({ file: old }));
        await store.insertExtension(newExtension({ file: shared }));
        await store.updateExtension(b.id, changes({ file: next, keepFileVersions: 1 })); // prunes old
        await store.deleteExtension(a.id); // shared is still referenced by the third
        const found = await candidatesAmong([shared.sha256, old.sha256, next.sha256]);
        assert.deepEqual(
          found.map((candidate) => candidate.sha256),
          [old.sha256],
        );
        await store.deleteExtension(b.id);
        assert.deepEqual(
          (await candidatesAmong([next.sha256])).map((candidate) => candidate.sha256),
          [next.sha256],
        );
      });

      test('candidates page in sha256 order; forgetting one recorded again since it was read keeps it', async () => {
        const hashes = [hashOf(uid()), hashOf(uid()), hashOf(uid())].sort();
        await store.gcState.recordGcCandidates(hashes, new Date(T0));
        const read = await candidatesAmong(hashes);
        assert.deepEqual(
          read.map((candidate) => candidate.sha256),
          hashes,
        );
        const first = await store.gcState.listGcCandidates(hashes[0]!, 1);
        assert.ok(first[0]!.sha256 > hashes[0]!);
        // A reference dropped again after the check: a new generation, not forgotten with the old one.
        await store.gcState.recordGcCandidates([hashes[1]!], new Date(T0 + 1));
        assert.equal(await store.gcState.forgetGcCandidates(read), 2);
        const left = await candidatesAmong(hashes);
        assert.deepEqual(
          left.map((candidate) => candidate.sha256),
          [hashes[1]],
        );
        assert.equal(left[0]!.generation, read[1]!.generation + 1);
        assert.equal(await store.gcState.forgetGcCandidates(left), 1);
        assert.deepEqual(await candidatesAmong(hashes), []);
        assert.ok((await store.gcState.countGcCandidates()) >= 0);
      });

      test('the sweep state is saved only at the revision it was read at', async () => {
        const state = await store.gcState.getGcSweep();
        const cursor = hashOf(uid());
        const startedAt = new Date(T0);
        assert.equal(await store.gcState.saveGcSweep({ startAfter: cursor, startedAt, finishedAt: null }, state.revision), true);
        const saved = await store.gcState.getGcSweep();
        assert.deepEqual(saved, { startAfter: cursor, startedAt, finishedAt: null, revision: state.revision + 1 });
        // Another instance saving from the old revision loses.
        assert.equal(await store.gcState.saveGcSweep({ startAfter: null, startedAt: null, finishedAt: new Date(T0) }, state.revision), false);
        assert.deepEqual(await store.gcState.getGcSweep(), saved);
        assert.equal(await store.gcState.saveGcSweep({ startAfter: null, startedAt: null, finishedAt: new Date(T0 + 5) }, saved.revision), true);
        assert.deepEqual(await store.gcState.getGcSweep(), {
          startAfter: null,
          startedAt: null,
          finishedAt: new Date(T0 + 5),
          revision: state.revision + 2,
        });
      });
    });

    describe('file versions', () => {
      const page = { from: 0, size: 100 };
      const numbers = async (id: string) => (await store.listFileVersions(id, page)).versions.map((v) => v.version);

      test('a file at insert is version 1; each new file is the next number; newest first, the newest current', async () => {
        const first = fileOf('v1', 10, T0 + 1);
        const plugin = { name: 'analysis-test', version: '1.0.0', classname: 'org.example.Plugin', elasticsearchVersion: '8.12.2' };
        const created = await store.insertExtension(
          newExtension({ file: { ...first, createdBy: 'alice', source: { kind: 'upload', form: 'multipart' }, plugin } }),
        );
        const second = fileOf('v2', 20, T0 + 2);
        await store.updateExtension(
          created.id,
          changes({ file: { ...second, createdBy: 'bob', source: { kind: 'download_url', downloadUrl: 'https://example.com/v2.zip' } } }),
        );
        await store.updateExtension(created.id, changes({ description: 'metadata only' })); // adds no version
        const third = fileOf('v3', 30, T0 + 3);
        await store.updateExtension(created.id, changes({ file: third }));

        const listed = await store.listFileVersions(created.id, page);
        assert.equal(listed.total, 3);
        assert.deepEqual(
          listed.versions.map((v) => ({ ...v })),
          [
            {
              extensionId: created.id,
              version: 3,
              sha256: third.sha256,
              size: 30,
              createdAt: new Date(T0 + 3),
              createdBy: null,
              source: { kind: 'upload' },
              plugin: null,
              current: true,
            },
            {
              extensionId: created.id,
              version: 2,
              sha256: second.sha256,
              size: 20,
              createdAt: new Date(T0 + 2),
              createdBy: 'bob',
              source: { kind: 'download_url', downloadUrl: 'https://example.com/v2.zip' },
              plugin: null,
              current: false,
            },
            {
              extensionId: created.id,
              version: 1,
              sha256: first.sha256,
              size: 10,
              createdAt: new Date(T0 + 1),
              createdBy: 'alice',
              source: { kind: 'upload', form: 'multipart' },
              plugin,
              current: false,
            },
          ],
        );
        assert.deepEqual({ ...(await store.getFileVersion(created.id, 2)) }, { ...listed.versions[1] });
        assert.equal(await store.getFileVersion(created.id, 4), null);
        assert.equal(await store.getFileVersion(uid('missing'), 1), null);
        assert.deepEqual(await store.listFileVersions(uid('missing'), page), { total: 0, versions: [] });
      });

      test('pages with from and size; a page past the end is empty but keeps the total', async () => {
        const created = await store.insertExtension(newExtension({ file: fileOf('p1') }));
        for (const label of ['p2', 'p3', 'p4']) await store.updateExtension(created.id, changes({ file: fileOf(label) }));
        const middle = await store.listFileVersions(created.id, { from: 1, size: 2 });
        assert.deepEqual({ total: middle.total, numbers: middle.versions.map((v) => v.version) }, { total: 4, numbers: [3, 2] });
        assert.deepEqual(await store.listFileVersions(created.id, { from: 9, size: 2 }), { total: 4, versions: [] });
      });

      test('restore makes an old version current, bumps the resource version, and numbering goes on from the newest', async () => {
        const one = fileOf('r1', 11, T0 + 1);
        const two = fileOf('r2', 22, T0 + 2);
        const created = await store.insertExtension(newExtension({ file: one }));
        await store.updateExtension(created.id, changes({ file: two }));
        const restored = await store.restoreFileVersion(created.id, 1, new Date(T0 + 99));
        assert.deepEqual(restored.orphanedBlobs, []);
        assert.deepEqual({ ...restored.record.file }, { sha256: one.sha256, size: 11, uploadedAt: new Date(T0 + 1) });
        assert.equal(restored.record.resourceVersion, 3);
        assert.equal(restored.record.modifiedAt.getTime(), T0 + 99);
        assert.deepEqual({ ...(await store.getExtension(created.id))?.file }, { ...restored.record.file });
        assert.deepEqual(
          (await store.listFileVersions(created.id, page)).versions.map((v) => [v.version, v.current]),
          [
            [2, false],
            [1, true],
          ],
        );

        await store.updateExtension(created.id, changes({ file: fileOf('r3') }));
        assert.deepEqual(await numbers(created.id), [3, 2, 1]);
        assert.equal((await store.getFileVersion(created.id, 3))?.current, true);
      });

      test('restore of an unknown version, an unknown extension or at a stale version changes nothing', async () => {
        const created = await store.insertExtension(newExtension({ file: fileOf('u1') }));
        await assert.rejects(store.restoreFileVersion(created.id, 7, new Date(T0)), (error: unknown) => {
          assert.ok(error instanceof FileVersionNotFoundError);
          assert.ok(error instanceof NotFoundError);
          return true;
        });
        await assert.rejects(store.restoreFileVersion(uid('missing'), 1, new Date(T0)), NotFoundError);
        await assert.rejects(store.restoreFileVersion(created.id, 1, new Date(T0), 5), VersionConflictError);
        assert.equal((await store.getExtension(created.id))?.resourceVersion, 1);
        assert.equal((await store.getFileVersion(created.id, 1))?.current, true);
      });

      test('retention keeps the newest versions and reports the blobs only pruned versions held', async () => {
        const files = ['k1', 'k2', 'k3', 'k4'].map((label) => fileOf(label));
        const created = await store.insertExtension(newExtension({ file: files[0]! }));
        const orphans: string[][] = [];
        for (const file of files.slice(1)) {
          orphans.push((await store.updateExtension(created.id, changes({ file, keepFileVersions: 2 }))).orphanedBlobs);
        }
        assert.deepEqual(orphans, [[], [files[0]!.sha256], [files[1]!.sha256]]);
        assert.deepEqual(await numbers(created.id), [4, 3]);
        assert.equal(await store.countBlobReferences(files[0]!.sha256), 0);
        assert.equal(await store.countBlobReferences(files[2]!.sha256), 1);
        // 0 keeps everything from now on.
        await store.updateExtension(created.id, changes({ file: fileOf('k5'), keepFileVersions: 0 }));
        assert.deepEqual(await numbers(created.id), [5, 4, 3]);
      });

      test('a pruned version whose blob another extension uses orphans nothing', async () => {
        const shared = fileOf('shared-history');
        const a = await store.insertExtension(newExtension({ file: shared }));
        await store.insertExtension(newExtension({ file: shared }));
        const replaced = await store.updateExtension(a.id, changes({ file: fileOf('a2'), keepFileVersions: 1 }));
        assert.deepEqual(replaced.orphanedBlobs, []);
        assert.deepEqual(await numbers(a.id), [2]);
        assert.equal(await store.countBlobReferences(shared.sha256), 1);
        assert.deepEqual(await store.unreferencedAmong([shared.sha256]), []);
      });

      test('kept versions are references; deleting the extension deletes its history and orphans its blobs', async () => {
        const old = fileOf('old');
        const now = fileOf('now');
        const created = await store.insertExtension(newExtension({ file: old }));
        const replaced = await store.updateExtension(created.id, changes({ file: now }));
        assert.deepEqual(replaced.orphanedBlobs, [], 'the old file is still version 1');
        assert.equal(await store.countBlobReferences(old.sha256), 1);
        assert.deepEqual(await store.unreferencedAmong([old.sha256]), [], 'a kept version keeps its blob from garbage collection');
        const deleted = await store.deleteExtension(created.id);
        assert.deepEqual(deleted.orphanedBlobs, [old.sha256, now.sha256].sort());
        assert.deepEqual(await store.listFileVersions(created.id, page), { total: 0, versions: [] });
        assert.equal(await store.countBlobReferences(old.sha256), 0);
        // A new extension under the same id starts its history at 1 again.
        await store.insertExtension(newExtension({ id: created.id, file: fileOf('again') }));
        assert.deepEqual(await numbers(created.id), [1]);
      });

      test('a replacement conditional on the current file applies only to that file, else FileConflictError', async () => {
        const current = fileOf('cond');
        const created = await store.insertExtension(newExtension({ file: current }));
        const next = fileOf('next');
        await assert.rejects(store.updateExtension(created.id, changes({ file: next, ifFileSha256: [hashOf(uid())] })), (error: unknown) => {
          assert.ok(error instanceof FileConflictError);
          assert.equal(error.actual, current.sha256);
          return true;
        });
        assert.deepEqual(await numbers(created.id), [1], 'the refused file left no version');
        const applied = await store.updateExtension(created.id, changes({ file: next, ifFileSha256: [hashOf(uid()), current.sha256] }));
        assert.equal(applied.record.file?.sha256, next.sha256);
        await store.updateExtension(created.id, changes({ file: fileOf('any'), ifFileSha256: 'any' }));
        const empty = await store.insertExtension(newExtension());
        await assert.rejects(store.updateExtension(empty.id, changes({ file: next, ifFileSha256: 'any' })), (error: unknown) => {
          assert.ok(error instanceof FileConflictError);
          assert.equal(error.actual, null);
          return true;
        });
      });

      test('two concurrent replacements conditional on the same file: exactly one wins', async () => {
        for (let round = 0; round < 5; round += 1) {
          const base = fileOf(`race-${round}`);
          const created = await store.insertExtension(newExtension({ file: base }));
          const outcomes = await Promise.allSettled([
            store.updateExtension(created.id, changes({ file: fileOf('left'), ifFileSha256: [base.sha256] })),
            store.updateExtension(created.id, changes({ file: fileOf('right'), ifFileSha256: [base.sha256] })),
          ]);
          assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
          const loser = outcomes.find((outcome) => outcome.status === 'rejected');
          assert.ok(loser?.status === 'rejected' && loser.reason instanceof FileConflictError);
          assert.deepEqual(await numbers(created.id), [2, 1]);
        }
      });

      test('referencedBlobBytes counts each referenced blob once, and grows and shrinks with the references', async () => {
        const start = await store.referencedBlobBytes();
        const shared = fileOf('shared-bytes');
        const own = fileOf('own-bytes', 4567);
        await store.insertExtension(newExtension({ file: shared }));
        await store.insertExtension(newExtension({ file: shared }));
        const single = await store.insertExtension(newExtension({ file: own }));
        assert.equal(await store.referencedBlobBytes(), start + shared.size + own.size);
        await store.deleteExtension(single.id);
        assert.equal(await store.referencedBlobBytes(), start + shared.size);
      });
    });

    describe('withBlobLock', () => {
      test('returns what fn returns, and passes its error through', async () => {
        const hash = hashOf(uid());
        assert.equal(await store.withBlobLock(hash, async () => 42), 42);
        await assert.rejects(
          store.withBlobLock(hash, async () => {
            throw new Error('boom');
          }),
          /boom/,
        );
        // a throwing holder released the lock
        assert.equal(await store.withBlobLock(hash, async () => 'again'), 'again');
      });

      test('callers for the same hash run one after the other', async () => {
        const hash = hashOf(uid());
        const events: string[] = [];
        const holder = (label: string) => async () => {
          events.push(`${label}:start`);
          await delay(40);
          events.push(`${label}:end`);
        };
        await Promise.all([store.withBlobLock(hash, holder('a')), store.withBlobLock(hash, holder('b')), store.withBlobLock(hash, holder('c'))]);
        assert.equal(events.length, 6);
        for (let i = 0; i < events.length; i += 2) {
          const label = events[i]?.split(':')[0];
          assert.deepEqual([events[i], events[i + 1]], [`${label}:start`, `${label}:end`], events.join(' '));
        }
      });

      test('callers for different hashes run concurrently', async () => {
        let bothInside!: () => void;
        const meeting = new Promise<void>((resolve) => {
          bothInside = resolve;
        });
        let inside = 0;
        const holder = async () => {
          inside += 1;
          if (inside === 2) bothInside();
          // Each waits for the other to be inside its own lock: this only finishes if they overlap.
          await Promise.race([
            meeting,
            delay(5000).then(() => {
              throw new Error('locks on different hashes did not overlap');
            }),
          ]);
        };
        await Promise.all([store.withBlobLock(hashOf(uid()), holder), store.withBlobLock(hashOf(uid()), holder)]);
      });
    });

    describe('api keys', () => {
      test('insert, find and count', async () => {
        const before = await store.countApiKeys();
        const key = {
          id: uid('key'),
          secretHash: hashOf('secret'),
          userId: 'admin',
          description: 'CI key',
          createdAt: new Date(T0 + 7),
          expiresAt: new Date(T0 + 86_400_000 + 3),
          roles: ['ece_deployment_viewer'],
        };
        await store.insertApiKey(key);
        const forever = { ...key, id: uid('key'), expiresAt: null, roles: null };
        await store.insertApiKey(forever);
        assert.deepEqual(await store.findApiKey(key.id), key);
        assert.deepEqual(await store.findApiKey(forever.id), forever);
        assert.equal(await store.findApiKey(uid('missing')), null);
        assert.equal(await store.countApiKeys(), before + 2);
      });

      test('list per user in creation order, and delete only what the user owns', async () => {
        const alice = uid('alice');
        const bob = uid('bob');
        const keyOf = (userId: string, at: number): ApiKeyRecord => ({
          id: uid('key'),
          secretHash: hashOf(uid()),
          userId,
          description: 'k',
          createdAt: new Date(T0 + at),
          expiresAt: null,
          roles: null,
        });
        const a2 = keyOf(alice, 2);
        const a1 = keyOf(alice, 1);
        const b1 = keyOf(bob, 1);
        for (const key of [a2, a1, b1]) await store.insertApiKey(key);
        await assert.rejects(store.insertApiKey(a1), IdCollisionError);
        assert.deepEqual(
          (await store.listApiKeys(alice)).map((k) => k.id),
          [a1.id, a2.id],
        );
        const all = (await store.listApiKeys()).map((k) => k.id);
        for (const key of [a1, a2, b1]) assert.ok(all.includes(key.id));
        // Bob's key is not deleted on Alice's behalf; unknown ids are ignored.
        assert.deepEqual(await store.deleteApiKeys([b1.id, a1.id, uid('missing')], alice), [a1.id]);
        assert.notEqual(await store.findApiKey(b1.id), null);
        assert.deepEqual(await store.deleteApiKeys([b1.id]), [b1.id]);
        assert.equal(await store.deleteApiKeysOfUser(alice), 1);
        assert.deepEqual(await store.listApiKeys(alice), []);
      });
    });

    describe('users', () => {
      function userOf(overrides: Partial<UserRecord> = {}): UserRecord {
        return {
          userName: uid('user'),
          fullName: 'Ada Lovelace',
          email: 'ada@example.com',
          roles: ['ece_deployment_manager'],
          enabled: true,
          builtin: false,
          passwordHash: 'scrypt$1$1$1$c2FsdA$aGFzaA',
          createdAt: new Date(T0),
          createdBy: 'admin',
          updatedAt: new Date(T0),
          updatedBy: 'admin',
          lastLoginAt: null,
          ...overrides,
        };
      }

      test('insert, get, list, and a duplicate name is IdCollisionError', async () => {
        const user = userOf();
        await store.insertUser(user);
        assert.deepEqual(await store.getUser(user.userName), user);
        assert.equal(await store.getUser(uid('nobody')), null);
        await assert.rejects(store.insertUser(user), IdCollisionError);
        const names = (await store.listUsers()).map((u) => u.userName);
        assert.ok(names.includes(user.userName));
        assert.deepEqual(
          names,
          [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
        );
      });

      test('update applies only the given fields; recordLogin stamps the login', async () => {
        const user = userOf();
        await store.insertUser(user);
        const updated = await store.updateUser(user.userName, {
          fullName: null,
          roles: ['ece_deployment_viewer', 'ece_platform_viewer'],
          updatedAt: new Date(T0 + 5),
          updatedBy: 'someone',
        });
        assert.deepEqual(updated, {
          ...user,
          fullName: null,
          roles: ['ece_deployment_viewer', 'ece_platform_viewer'],
          updatedAt: new Date(T0 + 5),
          updatedBy: 'someone',
        });
        await store.recordLogin(user.userName, new Date(T0 + 9));
        assert.deepEqual((await store.getUser(user.userName))?.lastLoginAt, new Date(T0 + 9));
        await assert.rejects(store.updateUser(uid('nobody'), { updatedAt: new Date(T0), updatedBy: null }), NotFoundError);
      });

      test('the last enabled platform admin cannot be disabled, demoted or deleted', async () => {
        // Other suites' admins may exist in a shared store: make this one the only enabled admin.
        for (const other of await store.listUsers()) {
          if (other.enabled && other.roles.includes('ece_platform_admin')) {
            await store.updateUser(other.userName, { enabled: false, updatedAt: new Date(T0), updatedBy: null }).catch(() => undefined);
          }
        }
        const first = userOf({ roles: ['ece_platform_admin'] });
        const second = userOf({ roles: ['ece_platform_admin'] });
        await store.insertUser(first);
        await store.insertUser(second);
        await store.updateUser(first.userName, { enabled: false, updatedAt: new Date(T0), updatedBy: null });
        const change = { updatedAt: new Date(T0), updatedBy: null };
        await assert.rejects(store.updateUser(second.userName, { ...change, enabled: false }), LastAdminError);
        await assert.rejects(store.updateUser(second.userName, { ...change, roles: ['ece_platform_viewer'] }), LastAdminError);
        await assert.rejects(store.deleteUser(second.userName), LastAdminError);
        assert.equal((await store.getUser(second.userName))?.enabled, true);
        // Concurrent demotions of two admins: exactly one wins.
        await store.updateUser(first.userName, { ...change, enabled: true });
        const results = await Promise.allSettled([
          store.updateUser(first.userName, { ...change, enabled: false }),
          store.updateUser(second.userName, { ...change, enabled: false }),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        assert.ok(results.some((r) => r.status === 'rejected' && r.reason instanceof LastAdminError));
      });

      test('delete refuses an owner of extensions unless they are reassigned, and removes keys and sessions', async () => {
        const owner = userOf();
        const heir = userOf();
        await store.insertUser(owner);
        await store.insertUser(heir);
        const a = await store.insertExtension(newExtension({ ownerId: owner.userName }));
        const b = await store.insertExtension(newExtension({ ownerId: owner.userName }));
        await store.insertApiKey({
          id: uid('key'),
          secretHash: hashOf('s'),
          userId: owner.userName,
          description: 'd',
          createdAt: new Date(T0),
          expiresAt: null,
          roles: null,
        });
        const session = { id: uid('sid'), userId: owner.userName, createdAt: new Date(T0), expiresAt: new Date(T0 + 1000), revokedAt: null };
        await store.insertSession(session);
        await assert.rejects(store.deleteUser(owner.userName), (error: unknown) => error instanceof UserOwnsExtensionsError && error.count === 2);
        assert.notEqual(await store.getUser(owner.userName), null);
        await assert.rejects(store.deleteUser(owner.userName, { reassignExtensionsTo: uid('nobody') }), NotFoundError);
        assert.deepEqual(await store.deleteUser(owner.userName, { reassignExtensionsTo: heir.userName }), { reassigned: 2 });
        assert.equal(await store.getUser(owner.userName), null);
        assert.equal((await store.getExtension(a.id))?.ownerId, heir.userName);
        assert.equal((await store.getExtension(b.id))?.ownerId, heir.userName);
        assert.deepEqual(await store.listApiKeys(owner.userName), []);
        assert.equal(await store.getSession(session.id), null);
        await assert.rejects(store.deleteUser(owner.userName), NotFoundError);
        assert.deepEqual(await store.deleteUser(userOf().userName).catch((e: unknown) => e instanceof NotFoundError), true);
      });

      test('delete refuses an owner of deployments too, and hands them over with the extensions; a shared request_id does not collide', async () => {
        const owner = userOf();
        const heir = userOf();
        await store.insertUser(owner);
        await store.insertUser(heir);
        const requestId = 'r'.repeat(40);
        const deployment = (ownerId: string) => ({
          id: randomUUID().replaceAll('-', ''),
          name: 'search',
          alias: null,
          ownerId,
          requestId,
          tags: [],
          elasticsearch: {
            refId: 'main-elasticsearch',
            resourceId: randomUUID().replaceAll('-', ''),
            region: 'ece-region',
            displayName: null,
            settings: null,
            plan: { cluster_topology: [], elasticsearch: { version: '8.15.0' } },
            planAttemptId: randomUUID(),
            planStartedAt: new Date(T0),
          },
          references: [],
          installSalt: 'salt',
          now: new Date(T0),
        });
        const owned = await store.deployments.insertDeployment(deployment(owner.userName));
        const inherited = await store.deployments.insertDeployment(deployment(heir.userName));
        await assert.rejects(
          store.deleteUser(owner.userName),
          (error: unknown) => error instanceof UserOwnsExtensionsError && error.count === 0 && error.deployments === 1,
        );
        assert.notEqual(await store.getUser(owner.userName), null);
        assert.deepEqual(await store.deleteUser(owner.userName, { reassignExtensionsTo: heir.userName }), { reassigned: 0 });
        const handedOver = await store.deployments.getDeployment(owned.id);
        assert.equal(handedOver?.ownerId, heir.userName);
        assert.equal(handedOver?.requestId, null, 'the request_id of the deleted owner is forgotten');
        assert.equal((await store.deployments.getDeploymentByRequestId(heir.userName, requestId))?.id, inherited.id);
      });
    });

    describe('sessions', () => {
      test('insert, get, revoke once, revoke all of a user, purge expired', async () => {
        const userId = uid('user');
        const s1 = { id: uid('sid'), userId, createdAt: new Date(T0), expiresAt: new Date(T0 + 60_000), revokedAt: null };
        const s2 = { ...s1, id: uid('sid') };
        const s3 = { ...s1, id: uid('sid'), userId: uid('other') };
        for (const s of [s1, s2, s3]) await store.insertSession(s);
        await assert.rejects(store.insertSession(s1), IdCollisionError);
        assert.deepEqual(await store.getSession(s1.id), s1);
        assert.equal(await store.revokeSession(s1.id, new Date(T0 + 1)), true);
        assert.equal(await store.revokeSession(s1.id, new Date(T0 + 2)), false);
        assert.deepEqual((await store.getSession(s1.id))?.revokedAt, new Date(T0 + 1));
        assert.equal(await store.revokeSessionsOfUser(userId, new Date(T0 + 3)), 1);
        assert.deepEqual((await store.getSession(s2.id))?.revokedAt, new Date(T0 + 3));
        assert.equal((await store.getSession(s3.id))?.revokedAt, null);
        assert.ok((await store.deleteExpiredSessions(new Date(T0 + 60_001))) >= 3);
        assert.equal(await store.getSession(s3.id), null);
      });
    });

    describe('audit', () => {
      test('append, then list newest first with filters, paging and a total', async () => {
        const actor = uid('actor');
        const base = {
          userId: actor,
          keyId: 'key-1',
          target: 'ext-1',
          status: 200,
          errorCode: null,
          clientAddress: '127.0.0.1',
          requestId: 'req',
        };
        await store.appendAudit({ ...base, at: new Date(T0 + 1), action: 'create-extension', outcome: 'success' });
        await store.appendAudit({
          ...base,
          at: new Date(T0 + 2),
          action: 'delete-extension',
          outcome: 'failure',
          status: 401,
          errorCode: 'extensions.unauthorised',
        });
        await store.appendAudit({ ...base, at: new Date(T0 + 3), action: 'delete-extension', outcome: 'success' });
        const all = await store.listAudit({ userId: actor, from: 0, size: 10 });
        assert.equal(all.total, 3);
        assert.deepEqual(
          all.records.map((r) => r.at.getTime()),
          [T0 + 3, T0 + 2, T0 + 1],
        );
        const failed = all.records[1]!;
        assert.equal(typeof failed.id, 'number');
        assert.deepEqual(
          { ...failed, id: 0 },
          {
            ...base,
            id: 0,
            at: new Date(T0 + 2),
            action: 'delete-extension',
            outcome: 'failure',
            status: 401,
            errorCode: 'extensions.unauthorised',
          },
        );
        const page = await store.listAudit({ userId: actor, action: 'delete-extension', from: 1, size: 1 });
        assert.equal(page.total, 2);
        assert.deepEqual(
          page.records.map((r) => r.at.getTime()),
          [T0 + 2],
        );
        const window = await store.listAudit({ userId: actor, since: new Date(T0 + 2), until: new Date(T0 + 3), from: 0, size: 10 });
        assert.deepEqual(
          window.records.map((r) => r.at.getTime()),
          [T0 + 2],
        );
        assert.equal((await store.listAudit({ userId: actor, outcome: 'failure', target: 'ext-1', from: 0, size: 10 })).total, 1);
      });
    });

    describe('settings', () => {
      test('an unset key is null', async () => {
        assert.equal(await store.getSetting(uid('setting')), null);
      });

      test('initSetting: the first writer wins', async () => {
        const key = uid('setting');
        assert.equal(await store.initSetting(key, 'first'), 'first');
        assert.equal(await store.initSetting(key, 'second'), 'first');
        assert.equal(await store.getSetting(key), 'first');
      });

      test('concurrent initSetting calls all get the same value', async () => {
        const key = uid('setting');
        const values = await Promise.all(['a', 'b', 'c', 'd'].map((value) => store.initSetting(key, value)));
        assert.equal(new Set(values).size, 1);
        assert.equal(await store.getSetting(key), values[0]);
      });
    });
  });
}
