// The PostgreSQL side of src/stores/gc-state-store.ts (tables of migration 6).
import type pg from 'pg';
import type { GcCandidate, GcStateStore, GcSweepState, GcSweepUpdate } from '../gc-state-store.js';

type Queryable = { query: pg.Pool['query'] };

const RECORD = `INSERT INTO gc_candidates (sha256, generation, recorded_at)
  SELECT sha256, 1, $2 FROM unnest($1::text[]) AS sha256 ORDER BY sha256
  ON CONFLICT (sha256) DO UPDATE SET generation = gc_candidates.generation + 1, recorded_at = excluded.recorded_at`;

/**
 * Records candidates with `db`, which may be a transaction's client (the store's changes that drop
 * references record them in their own transaction). Sorted, so concurrent records lock rows in one order.
 */
export async function recordGcCandidatesWith(db: Queryable, sha256s: readonly string[], at: Date): Promise<void> {
  if (sha256s.length === 0) return;
  await db.query(RECORD, [[...new Set(sha256s)].sort(), at]);
}

export class PostgresGcState implements GcStateStore {
  constructor(private readonly db: Queryable) {}

  recordGcCandidates(sha256s: readonly string[], at: Date): Promise<void> {
    return recordGcCandidatesWith(this.db, sha256s, at);
  }

  async listGcCandidates(after: string | null, limit: number): Promise<GcCandidate[]> {
    const result = await this.db.query<{ sha256: string; generation: string }>(
      'SELECT sha256, generation FROM gc_candidates WHERE sha256 > $1 ORDER BY sha256 LIMIT $2',
      [after ?? '', limit],
    );
    return result.rows.map((row) => ({ sha256: row.sha256, generation: Number(row.generation) }));
  }

  async forgetGcCandidates(candidates: readonly GcCandidate[]): Promise<number> {
    if (candidates.length === 0) return 0;
    const result = await this.db.query(
      `DELETE FROM gc_candidates c USING unnest($1::text[], $2::bigint[]) AS f(sha256, generation)
       WHERE c.sha256 = f.sha256 AND c.generation = f.generation`,
      [candidates.map((c) => c.sha256), candidates.map((c) => c.generation)],
    );
    return result.rowCount ?? 0;
  }

  async countGcCandidates(): Promise<number> {
    const result = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM gc_candidates');
    return Number(result.rows[0]?.n ?? 0);
  }

  async getGcSweep(): Promise<GcSweepState> {
    const result = await this.db.query<{ start_after: string | null; started_at: Date | null; finished_at: Date | null; revision: string }>(
      'SELECT start_after, started_at, finished_at, revision FROM gc_sweep WHERE id = 1',
    );
    const row = result.rows[0]!;
    return { startAfter: row.start_after, startedAt: row.started_at, finishedAt: row.finished_at, revision: Number(row.revision) };
  }

  async saveGcSweep(next: GcSweepUpdate, expectedRevision: number): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE gc_sweep SET start_after = $1, started_at = $2, finished_at = $3, revision = revision + 1
       WHERE id = 1 AND revision = $4`,
      [next.startAfter, next.startedAt, next.finishedAt, expectedRevision],
    );
    return result.rowCount === 1;
  }
}
