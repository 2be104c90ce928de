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
//
// Memory stays flat whatever the number of blobs: the blob listing is consumed a batch at a time,
// and each batch is checked against the metadata store in one query (unreferencedAmong), instead
// of loading every referenced hash first.
import type { BlobStore } from '../stores/blob-store.js';
import type { MetadataStore } from '../stores/metadata-store.js';

/** Blobs listed and checked per round trip to the metadata store. */
export const GC_BATCH_SIZE = 1000;

export interface GcProgress {
  /** Committed blobs listed so far. */
  listed: number;
  /** Of those, removed because nothing referenced them. */
  collected: number;
}

export interface CollectOptions {
  /** Blobs per batch (default GC_BATCH_SIZE). */
  batchSize?: number;
  /** Called after each batch, so that a long collection shows its progress. */
  onProgress?: (progress: GcProgress) => void;
}

export async function collectUnreferencedBlobs(store: MetadataStore, blobs: BlobStore, options: CollectOptions = {}): Promise<number> {
  const batchSize = options.batchSize ?? GC_BATCH_SIZE;
  const progress: GcProgress = { listed: 0, collected: 0 };
  let batch: string[] = [];
  const checkBatch = async () => {
    for (const sha256 of await store.unreferencedAmong(batch)) {
      // Re-checked under the lock: an upload may have referenced it since the batch was checked.
      await store.withBlobLock(sha256, async () => {
        if ((await store.countBlobReferences(sha256)) > 0) return;
        await blobs.delete(sha256);
        progress.collected++;
      });
    }
    progress.listed += batch.length;
    batch = [];
    options.onProgress?.({ ...progress });
  };
  for await (const sha256 of blobs.list()) {
    batch.push(sha256);
    if (batch.length >= batchSize) await checkBatch();
  }
  if (batch.length > 0) await checkBatch();
  return progress.collected;
}

export interface GarbageCollection {
  /** Leftovers of uploads that never committed. */
  swept: number;
  /** Committed blobs that nothing references. */
  collected: number;
  /** Sessions that expired before the collection started. */
  expiredSessions: number;
  /** How long the collection took. */
  durationMs: number;
}

/** One full collection: incomplete uploads older than `graceMs`, unreferenced blobs, expired sessions. */
export async function collectGarbage(
  store: MetadataStore,
  blobs: BlobStore,
  graceMs: number,
  now = new Date(),
  options: CollectOptions = {},
): Promise<GarbageCollection> {
  const started = performance.now();
  const swept = await blobs.sweepIncomplete(graceMs);
  const collected = await collectUnreferencedBlobs(store, blobs, options);
  const expiredSessions = await store.deleteExpiredSessions(now);
  return { swept, collected, expiredSessions, durationMs: Math.round(performance.now() - started) };
}

export interface GcSchedule {
  /** Stops scheduling and waits for a collection in progress. */
  stop(): Promise<void>;
}

export interface GcScheduleOptions {
  intervalMs: number;
  /** Grace period of incomplete uploads; a function is asked at each collection. */
  graceMs: number | (() => number);
  /** Delay of the first collection (default: intervalMs). */
  firstDelayMs?: number;
  /** After a failed collection, the next is tried this soon (default: intervalMs, or 60 s without one; never later than intervalMs). */
  retryMs?: number;
  collect?: CollectOptions;
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
  const graceMs = () => (typeof options.graceMs === 'function' ? options.graceMs() : options.graceMs);
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      let failed = false;
      running = collectGarbage(store, blobs, graceMs(), new Date(), options.collect)
        .then(
          (result) => options.onResult?.(result),
          (error: unknown) => {
            failed = true;
            options.onError?.(error);
          },
        )
        .finally(() => {
          if (failed) schedule(retryMs);
          else if (options.intervalMs > 0) schedule(jittered());
        });
    }, delay);
    timer.unref();
  };
  const jittered = () => options.intervalMs * (0.9 + Math.random() * 0.2);
  const retryMs = options.intervalMs > 0 ? Math.min(options.retryMs ?? options.intervalMs, options.intervalMs) : (options.retryMs ?? 60_000);
  // intervalMs 0 turns periodic collection off; a first collection asked for still runs (and is retried until it succeeds).
  if (options.firstDelayMs !== undefined) schedule(options.firstDelayMs);
  else if (options.intervalMs > 0) schedule(jittered());
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
