// Removes garbage: blobs that no extension references (leftovers of a crash between committing a
// file and storing its reference, or of a delete that could not remove the file), leftovers of
// uploads that never committed (a killed process, an aborted multipart upload), and sign-in
// sessions whose tokens have expired (nothing can use or refresh them any more).
//
// Safe while other instances are uploading:
// - Each unreferenced blob is re-checked under the blob lock (cross-instance on PostgreSQL), and an
//   upload commits its blob and stores the reference under that same lock, so a blob that an upload
//   is about to reference is never removed.
// - Incomplete uploads are removed only once older than the grace period, since an upload another
//   instance is still streaming looks exactly like one whose instance died.
import type { BlobStore } from '../stores/blob-store.js';
import type { MetadataStore } from '../stores/metadata-store.js';

export async function collectUnreferencedBlobs(store: MetadataStore, blobs: BlobStore): Promise<number> {
  const referenced = await store.listReferencedBlobs();
  let removed = 0;
  for await (const sha256 of blobs.list()) {
    if (referenced.has(sha256)) continue;
    await store.withBlobLock(sha256, async () => {
      if ((await store.countBlobReferences(sha256)) > 0) return;
      await blobs.delete(sha256);
      removed++;
    });
  }
  return removed;
}

export interface GarbageCollection {
  /** Leftovers of uploads that never committed. */
  swept: number;
  /** Committed blobs that nothing references. */
  collected: number;
  /** Sessions that expired before the collection started. */
  expiredSessions: number;
}

/** One full collection: incomplete uploads older than `graceMs`, unreferenced blobs, expired sessions. */
export async function collectGarbage(store: MetadataStore, blobs: BlobStore, graceMs: number, now = new Date()): Promise<GarbageCollection> {
  const swept = await blobs.sweepIncomplete(graceMs);
  const collected = await collectUnreferencedBlobs(store, blobs);
  const expiredSessions = await store.deleteExpiredSessions(now);
  return { swept, collected, expiredSessions };
}

export interface GcSchedule {
  /** Stops scheduling and waits for a collection in progress. */
  stop(): Promise<void>;
}

export interface GcScheduleOptions {
  intervalMs: number;
  graceMs: number;
  onResult?: (result: GarbageCollection) => void;
  onError?: (error: unknown) => void;
}

/**
 * Collects every `intervalMs` (±10 % jitter, so instances started together spread out). Runs never
 * overlap; the timer does not keep the process alive.
 */
export function scheduleGarbageCollection(store: MetadataStore, blobs: BlobStore, options: GcScheduleOptions): GcSchedule {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const next = () => {
    if (stopped) return;
    const delay = options.intervalMs * (0.9 + Math.random() * 0.2);
    timer = setTimeout(() => {
      running = collectGarbage(store, blobs, options.graceMs)
        .then((result) => options.onResult?.(result), (error: unknown) => options.onError?.(error))
        .finally(next);
    }, delay);
    timer.unref();
  };
  if (options.intervalMs > 0) next();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
