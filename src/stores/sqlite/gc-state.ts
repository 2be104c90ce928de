// The SQLite side of src/stores/gc-state-store.ts (tables of migration 6). Times are epoch ms.
import type Database from 'better-sqlite3';
import type { GcCandidate, GcStateStore, GcSweepState, GcSweepUpdate } from '../gc-state-store.js';

interface SweepRow {
  start_after: string | null;
  started_at: number | null;
  finished_at: number | null;
  revision: number;
}

const toDate = (ms: number | null) => (ms === null ? null : new Date(ms));

export class SqliteGcState implements GcStateStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      record: db.prepare(`INSERT INTO gc_candidates (sha256, generation, recorded_at) VALUES (?, 1, ?)
        ON CONFLICT (sha256) DO UPDATE SET generation = generation + 1, recorded_at = excluded.recorded_at`),
      list: db.prepare('SELECT sha256, generation FROM gc_candidates WHERE sha256 > ? ORDER BY sha256 LIMIT ?'),
      forget: db.prepare('DELETE FROM gc_candidates WHERE sha256 = ? AND generation = ?'),
      count: db.prepare('SELECT count(*) FROM gc_candidates').pluck(),
      getSweep: db.prepare('SELECT start_after, started_at, finished_at, revision FROM gc_sweep WHERE id = 1'),
      saveSweep: db.prepare(`UPDATE gc_sweep SET start_after = ?, started_at = ?, finished_at = ?, revision = revision + 1
        WHERE id = 1 AND revision = ?`),
    };
  }

  /** For the store's own transactions (they drop references): records in the caller's transaction. */
  recordInTransaction(sha256s: readonly string[], at: Date): void {
    for (const sha256 of sha256s) this.statements.record.run(sha256, at.getTime());
  }

  async recordGcCandidates(sha256s: readonly string[], at: Date): Promise<void> {
    if (sha256s.length === 0) return;
    this.db.transaction(() => this.recordInTransaction(sha256s, at))();
  }

  async listGcCandidates(after: string | null, limit: number): Promise<GcCandidate[]> {
    return this.statements.list.all(after ?? '', limit) as GcCandidate[];
  }

  async forgetGcCandidates(candidates: readonly GcCandidate[]): Promise<number> {
    return this.db.transaction(() =>
      candidates.reduce((removed, { sha256, generation }) => removed + this.statements.forget.run(sha256, generation).changes, 0),
    )();
  }

  async countGcCandidates(): Promise<number> {
    return this.statements.count.get() as number;
  }

  async getGcSweep(): Promise<GcSweepState> {
    const row = this.statements.getSweep.get() as SweepRow;
    return { startAfter: row.start_after, startedAt: toDate(row.started_at), finishedAt: toDate(row.finished_at), revision: row.revision };
  }

  async saveGcSweep(next: GcSweepUpdate, expectedRevision: number): Promise<boolean> {
    const result = this.statements.saveSweep.run(
      next.startAfter,
      next.startedAt?.getTime() ?? null,
      next.finishedAt?.getTime() ?? null,
      expectedRevision,
    );
    return result.changes === 1;
  }
}
