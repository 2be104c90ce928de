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
// What a cycle costs follows what changed, not what is stored (src/stores/gc-state-store.ts):
// - Candidates. The metadata store records a blob as a candidate in the transaction that drops a
//   reference to it (an extension deleted, its file replaced, a file version pruned), and an upload
//   records its blob just before committing it (a crash before the reference is stored would orphan
//   it). A regular cycle checks only the candidates, a batch per query, and forgets each one at the
//   generation it checked (one recorded again meanwhile stays for the next cycle).
// - Incomplete uploads: the incoming/ prefix only holds uploads in flight, so it is listed every cycle.
// - The full sweep lists every blob, for what no candidate names (a restored backup, an older
//   extrepo, a copy tool's leftovers). It runs every EXTREPO_GC_FULL_SWEEP_INTERVAL_SECONDS, a bounded
//   number of blobs per cycle (EXTREPO_GC_FULL_SWEEP_BLOBS_PER_CYCLE, ceil(n / 1,000) ListObjectsV2
//   pages), resuming after the last blob it checked (S3's StartAfter), persisted after every batch:
//   a restart or another instance carries on where it stopped. Saving the cursor compares a revision,
//   so two instances never both advance it; the loser stops its step. `npm run gc` and tests ask for
//   a complete listing at once (sweep mode 'full').
//
// Memory stays flat whatever the number of blobs: listings and candidates are consumed a batch at a
// time, and each batch is checked against the metadata store in one query (unreferencedAmong).
import type { BlobStore } from '../stores/blob-store.js';
import type { MetadataStore } from '../stores/metadata-store.js';

/** Blobs listed and checked per round trip to the metadata store. */
export const GC_BATCH_SIZE = 1000;
/** Default of EXTREPO_GC_FULL_SWEEP_BLOBS_PER_CYCLE. */
export const DEFAULT_SWEEP_BLOBS_PER_CYCLE = 10_000;
/** Default of EXTREPO_GC_FULL_SWEEP_INTERVAL_SECONDS: a week. */
export const DEFAULT_FULL_SWEEP_INTERVAL_MS = 7 * 24 * 3600 * 1000;

export interface GcProgress {
  /** Candidates checked so far. */
  candidates: number;
  /** Blobs the full sweep listed so far. */
  listed: number;
  /** Blobs removed because nothing referenced them. */
  collected: number;
  /** The full sweep's cursor: the last blob it checked (null: not sweeping, or not started yet). */
  sweepCursor: string | null;
}

export interface SweepPolicy {
  /**
   * 'full': list every blob in this collection, from the first (npm run gc, tests, and a start-up
   * that asks for it); 'step': continue the resumable sweep (or start it when due) for at most
   * `blobsPerCycle` blobs.
   */
  mode: 'full' | 'step';
  blobsPerCycle?: number;
  /** A new sweep starts this long after the last one finished. */
  intervalMs?: number;
}

export interface CollectOptions {
  /** Blobs per batch (default GC_BATCH_SIZE). */
  batchSize?: number;
  /** Called after each batch, so that a long collection shows its progress. */
  onProgress?: (progress: GcProgress) => void;
  /** Default: a complete listing ({ mode: 'full' }). */
  sweep?: SweepPolicy;
}

export type SweepOutcome = 'idle' | 'in progress' | 'finished';

interface Batches {
  store: MetadataStore;
  blobs: BlobStore;
  batchSize: number;
  progress: GcProgress;
  report: () => void;
}

/**
 * Removes those of `sha256s` that nothing references. Each is re-checked under the blob lock: an
 * upload may have referenced it since the batch was checked. `mayBeGone`: the hashes come from
 * candidates, whose blob may already have been removed (by the change that orphaned it); only one
 * that still exists counts as collected.
 */
async function removeUnreferenced(batches: Batches, sha256s: readonly string[], mayBeGone: boolean): Promise<void> {
  const { store, blobs, progress } = batches;
  for (const sha256 of await store.unreferencedAmong(sha256s)) {
    await store.withBlobLock(sha256, async () => {
      if ((await store.countBlobReferences(sha256)) > 0) return;
      if (mayBeGone && (await blobs.stat(sha256)) === null) return;
      await blobs.delete(sha256);
      progress.collected++;
    });
  }
}

/** Checks every recorded candidate, a batch at a time, and forgets the ones checked. */
async function checkCandidates(batches: Batches): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const batch = await batches.store.gcState.listGcCandidates(after, batches.batchSize);
    if (batch.length === 0) return;
    await removeUnreferenced(
      batches,
      batch.map((candidate) => candidate.sha256),
      true,
    );
    await batches.store.gcState.forgetGcCandidates(batch);
    batches.progress.candidates += batch.length;
    batches.report();
    if (batch.length < batches.batchSize) return;
    after = batch[batch.length - 1]!.sha256;
  }
}

/** One step of the full sweep (or all of it, in 'full' mode). */
async function sweep(batches: Batches, policy: SweepPolicy, now: Date): Promise<SweepOutcome> {
  const { store, blobs, progress } = batches;
  const state = await store.gcState.getGcSweep();
  let revision = state.revision;
  let startedAt: Date;
  let cursor: string | null;
  if (policy.mode === 'full') {
    startedAt = now;
    cursor = null;
  } else if (state.startedAt !== null) {
    startedAt = state.startedAt;
    cursor = state.startAfter;
  } else if (state.finishedAt === null || now.getTime() - state.finishedAt.getTime() >= (policy.intervalMs ?? DEFAULT_FULL_SWEEP_INTERVAL_MS)) {
    startedAt = now;
    cursor = null;
    // Another instance may have started it just now: then its step goes first.
    if (!(await store.gcState.saveGcSweep({ startAfter: null, startedAt, finishedAt: state.finishedAt }, revision))) return 'in progress';
    revision++;
  } else {
    return 'idle';
  }
  const limit = policy.mode === 'full' ? Number.POSITIVE_INFINITY : Math.max(1, policy.blobsPerCycle ?? DEFAULT_SWEEP_BLOBS_PER_CYCLE);
  progress.sweepCursor = cursor;
  let batch: string[] = [];
  let listedNow = 0;
  /** Checks the batch and saves the cursor after it; false if another instance moved the cursor meanwhile. */
  const checkBatch = async (): Promise<boolean> => {
    await removeUnreferenced(batches, batch, false);
    progress.listed += batch.length;
    cursor = batch[batch.length - 1]!;
    progress.sweepCursor = cursor;
    batch = [];
    batches.report();
    if (policy.mode === 'full') return true;
    if (!(await store.gcState.saveGcSweep({ startAfter: cursor, startedAt, finishedAt: state.finishedAt }, revision))) return false;
    revision++;
    return true;
  };
  const listing = blobs.list({ ...(cursor === null ? {} : { startAfter: cursor }), pageSize: Math.min(GC_BATCH_SIZE, limit) });
  for await (const sha256 of listing) {
    batch.push(sha256);
    listedNow++;
    if (batch.length >= batches.batchSize || listedNow >= limit) {
      if (!(await checkBatch())) return 'in progress';
    }
    // Stopping here asks S3 for no further page; the next cycle resumes after the cursor.
    if (listedNow >= limit) return 'in progress';
  }
  if (batch.length > 0 && !(await checkBatch())) return 'in progress';
  // The end of the listing: the sweep is complete.
  const latest = policy.mode === 'full' ? (await store.gcState.getGcSweep()).revision : revision;
  await store.gcState.saveGcSweep({ startAfter: null, startedAt: null, finishedAt: new Date() }, latest);
  progress.sweepCursor = null;
  return 'finished';
}

/** Removes unreferenced blobs: the recorded candidates, then one step of the full sweep (all of it by default). */
export async function collectUnreferencedBlobs(
  store: MetadataStore,
  blobs: BlobStore,
  options: CollectOptions = {},
  now = new Date(),
): Promise<GcProgress & { sweep: SweepOutcome }> {
  const progress: GcProgress = { candidates: 0, listed: 0, collected: 0, sweepCursor: null };
  const batches: Batches = {
    store,
    blobs,
    batchSize: options.batchSize ?? GC_BATCH_SIZE,
    progress,
    report: () => options.onProgress?.({ ...progress }),
  };
  await checkCandidates(batches);
  const outcome = await sweep(batches, options.sweep ?? { mode: 'full' }, now);
  return { ...progress, sweep: outcome };
}

export interface GarbageCollection {
  /** Leftovers of uploads that never committed. */
  swept: number;
  /** Committed blobs that nothing references. */
  collected: number;
  /** Candidates checked (blobs whose references changes dropped, and uploads' blobs). */
  candidates: number;
  /** Blobs the full sweep listed in this collection. */
  listed: number;
  /** The full sweep: not due ('idle'), 'in progress' (resumes next cycle), or 'finished' in this collection. */
  sweep: SweepOutcome;
  /** Where the sweep resumes (null unless in progress). */
  sweepCursor: string | null;
  /** Sessions that expired before the collection started. */
  expiredSessions: number;
  /** How long the collection took. */
  durationMs: number;
}

/**
 * One collection: incomplete uploads older than `graceMs`, unreferenced blobs (candidates, and the
 * full sweep as options.sweep says: all of it by default), expired sessions.
 */
export async function collectGarbage(
  store: MetadataStore,
  blobs: BlobStore,
  graceMs: number,
  now = new Date(),
  options: CollectOptions = {},
): Promise<GarbageCollection> {
  const started = performance.now();
  const swept = await blobs.sweepIncomplete(graceMs);
  const unreferenced = await collectUnreferencedBlobs(store, blobs, options, now);
  const expiredSessions = await store.deleteExpiredSessions(now);
  return {
    swept,
    collected: unreferenced.collected,
    candidates: unreferenced.candidates,
    listed: unreferenced.listed,
    sweep: unreferenced.sweep,
    sweepCursor: unreferenced.sweepCursor,
    expiredSessions,
    durationMs: Math.round(performance.now() - started),
  };
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
