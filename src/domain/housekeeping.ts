// Start-up housekeeping, in the background: the server listens at once, whatever the number of
// blobs and whether S3 answers. A garbage collection used to run before listen, so start-up time
// grew with the bucket and an S3 outage killed the start; now the first collection starts right
// after listen, is retried until it succeeds (a store may be down: /readyz says so meanwhile), and
// then runs every EXTREPO_GC_INTERVAL_SECONDS. Each cycle checks the recorded candidates and
// continues the full sweep by at most EXTREPO_GC_FULL_SWEEP_BLOBS_PER_CYCLE blobs when one is due or
// in progress (garbage-collector.ts); its result line says how far the sweep got.
import type { BlobStore } from '../stores/blob-store.js';
import type { MetadataStore } from '../stores/metadata-store.js';
import { scheduleGarbageCollection, type GcProgress, type GcSchedule } from './garbage-collector.js';

/** The part of a pino logger housekeeping writes to. */
export interface HousekeepingLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface HousekeepingOptions {
  /** True for the single-process embedded stores (SQLite + local disk). */
  embedded: boolean;
  intervalMs: number;
  graceMs: number;
  /** EXTREPO_GC_FULL_SWEEP_INTERVAL_SECONDS, in ms. */
  fullSweepIntervalMs: number;
  /** EXTREPO_GC_FULL_SWEEP_BLOBS_PER_CYCLE. */
  fullSweepBlobsPerCycle: number;
  /** How soon a failed collection is tried again (default 30 s). */
  retryMs?: number;
  /** A long collection logs its progress at most this often (default 30 s). */
  progressEveryMs?: number;
  log: HousekeepingLog;
}

export function startHousekeeping(store: MetadataStore, blobs: BlobStore, options: HousekeepingOptions): GcSchedule {
  const startedAt = Date.now();
  let first = true;
  let lastProgressLog = Date.now();
  const progressEveryMs = options.progressEveryMs ?? 30_000;
  return scheduleGarbageCollection(store, blobs, {
    intervalMs: options.intervalMs,
    firstDelayMs: 0,
    retryMs: options.retryMs ?? 30_000,
    // One process owns the embedded stores: whatever was half-written before this start is a crash
    // leftover, but uploads begun since are not. Shared stores may hold uploads other instances are
    // writing right now: only leftovers older than the grace period go.
    graceMs: () => (first && options.embedded ? Math.max(1, Date.now() - startedAt) : options.graceMs),
    collect: {
      sweep: { mode: 'step', intervalMs: options.fullSweepIntervalMs, blobsPerCycle: options.fullSweepBlobsPerCycle },
      onProgress: (progress: GcProgress) => {
        if (Date.now() - lastProgressLog < progressEveryMs) return;
        lastProgressLog = Date.now();
        options.log.info(progress, 'garbage collection in progress');
      },
    },
    onResult: (result) => {
      // A quiet cycle (nothing removed, no sweep step) logs nothing; every sweep step logs its cursor.
      if (result.swept > 0 || result.collected > 0 || result.expiredSessions > 0 || result.listed > 0 || result.sweep !== 'idle' || first) {
        options.log.info({ ...result, first }, first ? 'start-up garbage collection finished' : 'garbage collected');
      }
      first = false;
    },
    onError: (error) => options.log.warn({ err: error, retryInMs: options.retryMs ?? 30_000 }, 'garbage collection failed; retrying later'),
  });
}
