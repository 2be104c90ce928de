// What garbage collection keeps in the metadata store so that a regular cycle costs what changed,
// not what is stored (src/domain/garbage-collector.ts):
// - candidates: blobs that may have lost their last reference. The store records them in the same
//   transaction that drops a reference (an extension deleted, its file replaced, a file version
//   pruned), and the upload path records a blob just before committing it (a crash between the
//   commit and the reference would orphan it). A regular cycle checks only these.
// - the sweep: the rare full listing of every blob, which finds whatever no candidate names (blobs of
//   a store filled by a backup restore or an older extrepo, a copy tool's leftovers). It runs a
//   bounded number of blobs per cycle and persists where it stopped (the last blob it checked, S3's
//   StartAfter), so it resumes after a restart and several instances share one sweep.
// Interface of its own (and src/stores/{sqlite,postgres}/gc-state.ts) so that the stores' main
// modules only delegate to it.

/** A blob that may be unreferenced, with the generation it was recorded at. */
export interface GcCandidate {
  readonly sha256: string;
  /**
   * Grows each time the blob is recorded again. Forgetting a candidate names the generation that was
   * checked, so a reference dropped after the check (a new record) is not forgotten with it.
   */
  readonly generation: number;
}

/** Where the full sweep stands. */
export interface GcSweepState {
  /** The last blob the sweep in progress checked (it resumes after it); null: from the first blob. */
  readonly startAfter: string | null;
  /** When the sweep in progress started; null when none is in progress. */
  readonly startedAt: Date | null;
  /** When the last complete sweep finished; null if none ever has (a sweep is then due). */
  readonly finishedAt: Date | null;
  /** Grows with every save; saveGcSweep compares it, so two instances never both move the cursor. */
  readonly revision: number;
}

export type GcSweepUpdate = Omit<GcSweepState, 'revision'>;

export interface GcStateStore {
  /** Records blobs as candidates (again: a new generation). */
  recordGcCandidates(sha256s: readonly string[], at: Date): Promise<void>;
  /** Up to `limit` candidates after `after` (null: from the first), ordered by sha256. */
  listGcCandidates(after: string | null, limit: number): Promise<GcCandidate[]>;
  /** Removes the candidates still at the given generation; returns how many. */
  forgetGcCandidates(candidates: readonly GcCandidate[]): Promise<number>;
  countGcCandidates(): Promise<number>;
  getGcSweep(): Promise<GcSweepState>;
  /** Saves the sweep's state if its revision is still `expectedRevision`; false if another instance saved first. */
  saveGcSweep(next: GcSweepUpdate, expectedRevision: number): Promise<boolean>;
}
