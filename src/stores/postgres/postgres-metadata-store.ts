// The scale-out metadata store: PostgreSQL shared by every extrepo instance. Each rule of the
// contract is enforced by the database itself, so it holds across instances: the primary key
// makes ids unique, row locks (SELECT … FOR UPDATE) make version checks and writes atomic, and
// advisory locks serialize reference counting and blob locks.
import pg from 'pg';
import { ExtensionInUseError, FileVersionNotFoundError } from '../metadata-store.js';
import type { BrowsePage, BrowseQuery, ChangeResult, ExtensionChanges, ExtensionRecord, FileVersionPage } from '../metadata-store.js';
import type { FileVersionRecord, ListOptions, MetadataStore, NewExtension, NewFile } from '../metadata-store.js';
import { checkFileCondition, provenanceColumns, rowToFileVersion, type FileVersionRow } from '../sql/file-version-row.js';
import { browseStatement } from '../sql/browse-sql.js';
import { EXTENSION_COLUMNS, tupleToRecord, type ExtensionTuple } from '../sql/extension-tuple.js';
import { PostgresGcState, recordGcCandidatesWith } from './gc-state.js';
import { KeyedMutex } from '../keyed-mutex.js';
import { LOCK_NAMESPACE, blobLockKey, intKey } from './lock-keys.js';
import { SqlAuthTables } from '../sql/auth-tables.js';
import { checkChangeable, orphanCandidates } from '../sql/change-rules.js';
import { rethrowCollision } from '../sql/dialect.js';
import { toReferencingDeployment } from '../sql/deployment-rows.js';
import { runStepsAsync, type SqlRequest, type SqlSteps } from '../sql/steps.js';
import { migrate } from './migrations.js';
import { POSTGRES_DIALECT } from './postgres-dialect.js';
import { classifyPostgresError } from '../store-unavailable.js';
import { PostgresDeploymentStore } from './postgres-deployment-store.js';

export interface PostgresMetadataStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections for queries (default 10). Blob locks use a separate pool (see lockPoolSize). */
  poolSize?: number;
  /** Connections that may hold or wait for a blob lock at once (default 10). */
  lockPoolSize?: number;
  /** Server-side limit for any one query (default 30 s); 0 disables it. Not applied to lock waits. */
  statementTimeoutMs?: number;
  ssl?: pg.PoolConfig['ssl'];
  /** Errors of idle pooled connections (e.g. the server restarted); they are otherwise dropped. */
  onError?: (error: Error) => void;
}

/**
 * THE definition of a blob reference: one sha256 per referencing row. Counting a blob's references
 * (releasing it after a change) and finding unreferenced blobs (garbage collection) both read this
 * one query, so EVERY TABLE WHOSE ROWS REFERENCE BLOBS MUST BE PART OF IT (as another UNION ALL
 * branch); a table left out would have its blobs collected while still in use. Each branch must be
 * served by an index on its sha256 column (extensions_by_file, file_versions_by_sha256).
 */
// Extensions' files, and (issue 13) every kept file version: one row per blob and extension, so an
// extension whose current file is also its current version counts once.
const BLOB_REFERENCES = `SELECT file_sha256 AS sha256, id AS extension_id FROM extensions WHERE file_sha256 IS NOT NULL
  UNION SELECT sha256, extension_id FROM file_versions`;

/** How many references each of $1 (a text[] of hashes) has, by BLOB_REFERENCES. */
const COUNT_BLOB_REFERENCES = `SELECT c.sha256, (SELECT count(*) FROM (${BLOB_REFERENCES}) AS r WHERE r.sha256 = c.sha256) AS n
  FROM unnest($1::text[]) AS c(sha256)`;

/** timestamptz as epoch milliseconds: pg parses an integer several times faster than a date string. */
const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)::int8`;

/** What reads select (and writes return): EXTENSION_COLUMNS with times as epoch ms. */
const EXTENSION_OUTPUT = `id, name, version, extension_type, description, download_url, file_sha256, file_size,
  ${epochMs('file_uploaded_at')}, owner_id, resource_version, ${epochMs('created_at')}, ${epochMs('modified_at')}`;

/** What file_versions reads select: every column, created_at as epoch ms. */
const FILE_VERSION_OUTPUT = `extension_id, version, sha256, size, ${epochMs('created_at')} AS created_at, created_by, source_kind,
  source_form, source_url, plugin_name, plugin_version, plugin_classname, plugin_elasticsearch_version, current`;

/** The URL without its password, for messages. */
function databaseLabel(url: string): string {
  try {
    const parsed = new URL(url);
    return `PostgreSQL database "${decodeURIComponent(parsed.pathname.slice(1))}" at ${parsed.host}`;
  } catch {
    return 'the PostgreSQL database';
  }
}

/**
 * Connects, brings the schema up to date (safe when several instances start at once) and returns
 * the store. Refuses a database migrated by a newer extrepo.
 */
export async function openPostgresMetadataStore(options: PostgresMetadataStoreOptions): Promise<MetadataStore> {
  const base: pg.PoolConfig = {
    connectionString: options.url,
    ssl: options.ssl,
    connectionTimeoutMillis: 10_000,
    // A dead peer (crashed instance) is noticed, and its locks freed, without waiting for hours.
    keepAlive: true,
    application_name: 'extrepo',
  };
  const statementTimeout = options.statementTimeoutMs ?? 30_000;
  const pool = new pg.Pool({ ...base, max: options.poolSize ?? 10, statement_timeout: statementTimeout || undefined });
  // Waiting for a blob lock may legitimately outlast any statement timeout (another instance is
  // copying a large blob), so lock connections have none.
  const lockPool = new pg.Pool({ ...base, max: options.lockPoolSize ?? 10 });
  const onError = options.onError ?? (() => undefined);
  // Without a listener, an idle connection's error would crash the process.
  pool.on('error', onError);
  lockPool.on('error', onError);

  try {
    // On a lock connection: waiting while another instance migrates is not a slow statement.
    const client = await lockPool.connect();
    let broken: Error | undefined;
    try {
      await migrate(client, databaseLabel(options.url));
    } catch (error) {
      broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  } catch (error) {
    await Promise.allSettled([pool.end(), lockPool.end()]);
    throw error;
  }
  return new PostgresMetadataStore(pool, lockPool, onError);
}

type Queryable = pg.Pool | pg.PoolClient;

/** Rethrows a failed call's error, as StoreUnavailableError when the database is unreachable. */
function rethrowClassified(error: unknown): never {
  throw classifyPostgresError(error);
}

/** pool.query whose outage errors are StoreUnavailableError (see store-unavailable.ts). */
/** One statement of a sequence (sql/steps.ts): its keyed rows, or how many rows it changed. */
async function runRequest(db: { query: pg.Pool['query'] }, request: SqlRequest): Promise<unknown> {
  const result = await db.query(request.text, request.values as unknown[]);
  return request.kind === 'rows' ? result.rows : (result.rowCount ?? 0);
}

function guardedQuery(pool: pg.Pool): pg.Pool['query'] {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  return ((...args: unknown[]) => query(...args).catch(rethrowClassified)) as pg.Pool['query'];
}

class PostgresMetadataStore extends SqlAuthTables implements MetadataStore {
  /** Same-hash waiters of this process queue here, rather than each holding a lock connection. */
  private readonly localBlobLocks = new KeyedMutex();
  /** Every query outside a transaction goes through here, so outages are classified at the boundary. */
  private readonly db: { query: pg.Pool['query'] };
  readonly deployments: PostgresDeploymentStore;
  readonly gcState: PostgresGcState;

  constructor(
    private readonly pool: pg.Pool,
    private readonly lockPool: pg.Pool,
    private readonly onError: (error: Error) => void,
  ) {
    super(POSTGRES_DIALECT);
    this.db = { query: guardedQuery(pool) };
    this.deployments = new PostgresDeploymentStore(this.db, (fn) => this.transaction(fn));
    this.gcState = new PostgresGcState(this.db);
  }

  /**
   * A pooled connection with an 'error' listener for as long as it is checked out: a connection
   * that drops while in use (database restart, network) must fail its own work, not crash the
   * process with an unhandled 'error' event. The pool handles idle connections itself.
   */
  private async checkout(pool: pg.Pool): Promise<{ client: pg.PoolClient; release: (error?: Error) => void }> {
    const client = await pool.connect().catch(rethrowClassified);
    const onLost = (error: Error) => this.onError(error);
    client.on('error', onLost);
    return {
      client,
      release: (error?: Error) => {
        client.off('error', onLost);
        client.release(error);
      },
    };
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const { client, release } = await this.checkout(this.pool);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError; // do not hand a connection in an unknown state back to the pool
      });
      throw classifyPostgresError(error);
    } finally {
      release(broken);
    }
  }

  private async selectExtensions(db: Queryable, where: string, values: unknown[]): Promise<ExtensionRecord[]> {
    const result = await db
      .query<ExtensionTuple>({ text: `SELECT ${EXTENSION_OUTPUT} FROM extensions ${where}`, values, rowMode: 'array' })
      .catch(rethrowClassified);
    return result.rows.map(tupleToRecord);
  }

  async insertExtension(extension: NewExtension): Promise<ExtensionRecord> {
    const file = extension.file;
    if (file === null) return this.insertExtensionRow(this.db, extension);
    // With a file, the extension and its file version 1 commit together.
    return this.transaction(async (client) => {
      const record = await this.insertExtensionRow(client, extension);
      await this.addFileVersion(client, extension.id, file, 0);
      return record;
    });
  }

  private async insertExtensionRow(db: { query: pg.Pool['query'] }, extension: NewExtension): Promise<ExtensionRecord> {
    try {
      const result = await db.query<ExtensionTuple>({
        text: `INSERT INTO extensions (${EXTENSION_COLUMNS})
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11)
          RETURNING ${EXTENSION_OUTPUT}`,
        values: [
          extension.id,
          extension.name,
          extension.version,
          extension.extensionType,
          extension.description,
          extension.downloadUrl,
          extension.file?.sha256 ?? null,
          extension.file?.size ?? null,
          extension.file?.uploadedAt ?? null,
          extension.ownerId,
          extension.now,
        ],
        rowMode: 'array',
      });
      return tupleToRecord(result.rows[0] as ExtensionTuple);
    } catch (error) {
      rethrowCollision(POSTGRES_DIALECT, error, `extension ${extension.id}`);
    }
  }

  async getExtension(id: string): Promise<ExtensionRecord | null> {
    const [record] = await this.selectExtensions(this.pool, 'WHERE id = $1', [id]);
    return record ?? null;
  }

  async listExtensions(options: ListOptions = {}): Promise<ExtensionRecord[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (options.ownerId !== undefined) {
      values.push(options.ownerId);
      conditions.push(`owner_id = $${values.length}`);
    }
    if (options.after !== undefined) {
      values.push(options.after.createdAt, options.after.id);
      conditions.push(`(created_at, id) > ($${values.length - 1}, $${values.length})`);
    }
    let clause = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')} ` : '';
    clause += 'ORDER BY created_at, id';
    if (options.limit !== undefined) {
      values.push(options.limit);
      clause += ` LIMIT $${values.length}`;
    }
    return this.selectExtensions(this.pool, clause, values);
  }

  async browseExtensions(query: BrowseQuery): Promise<BrowsePage> {
    const statement = browseStatement(query, POSTGRES_DIALECT);
    const [records, count] = await Promise.all([
      this.selectExtensions(this.pool, statement.pageClause, statement.pageValues),
      this.pool.query<{ total: string }>(`SELECT count(*) AS total FROM extensions ${statement.filterClause}`, statement.filterValues),
    ]);
    return { records, total: Number(count.rows[0]!.total) };
  }

  async updateExtension(id: string, changes: ExtensionChanges, expectedVersion?: number): Promise<ChangeResult> {
    return this.transaction(async (client) => {
      const current = await this.lockForChange(client, id, expectedVersion);
      checkFileCondition(current.file?.sha256 ?? null, changes.ifFileSha256);
      const file = changes.file ?? current.file;
      const pruned = changes.file ? await this.addFileVersion(client, id, changes.file, changes.keepFileVersions ?? 0) : [];
      const result = await client.query<ExtensionTuple>({
        text: `UPDATE extensions SET name = $2, version = $3, description = $4, download_url = $5,
            file_sha256 = $6, file_size = $7, file_uploaded_at = $8,
            resource_version = resource_version + 1, modified_at = $9
          WHERE id = $1
          RETURNING ${EXTENSION_OUTPUT}`,
        values: [
          id,
          changes.name,
          changes.version,
          changes.description,
          changes.downloadUrl,
          file?.sha256 ?? null,
          file?.size ?? null,
          file?.uploadedAt ?? null,
          changes.now,
        ],
        rowMode: 'array',
      });
      const record = tupleToRecord(result.rows[0] as ExtensionTuple);
      return { record, orphanedBlobs: await this.orphansAmong(client, orphanCandidates(pruned, current.file?.sha256 ?? null)) };
    });
  }

  /**
   * Records `file` as the extension's newest file version and makes it current; with `keep` > 0,
   * prunes all but the newest `keep` versions. Returns the blobs of the pruned versions. The caller
   * holds the extension's row lock, so version numbers cannot race.
   */
  private async addFileVersion(client: pg.PoolClient, id: string, file: NewFile, keep: number): Promise<string[]> {
    await client.query('UPDATE file_versions SET current = false WHERE extension_id = $1 AND current', [id]);
    const p = provenanceColumns(file);
    await client.query(
      `INSERT INTO file_versions (extension_id, version, sha256, size, created_at, created_by, source_kind, source_form,
         source_url, plugin_name, plugin_version, plugin_classname, plugin_elasticsearch_version, current)
       SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, true
       FROM file_versions WHERE extension_id = $1`,
      [
        id,
        file.sha256,
        file.size,
        file.uploadedAt,
        p.created_by,
        p.source_kind,
        p.source_form,
        p.source_url,
        p.plugin_name,
        p.plugin_version,
        p.plugin_classname,
        p.plugin_elasticsearch_version,
      ],
    );
    if (keep <= 0) return [];
    const pruned = await client.query<{ sha256: string }>(
      `DELETE FROM file_versions WHERE extension_id = $1 AND NOT current AND version IN (
         SELECT version FROM file_versions WHERE extension_id = $1 ORDER BY version DESC OFFSET $2)
       RETURNING sha256`,
      [id, keep],
    );
    return pruned.rows.map((row) => row.sha256);
  }

  async restoreFileVersion(id: string, version: number, now: Date, expectedVersion?: number): Promise<ChangeResult> {
    return this.transaction(async (client) => {
      await this.lockForChange(client, id, expectedVersion);
      const target = await client.query<{ sha256: string; size: string; created_at: Date }>(
        'SELECT sha256, size, created_at FROM file_versions WHERE extension_id = $1 AND version = $2',
        [id, version],
      );
      const restored = target.rows[0];
      if (restored === undefined) throw new FileVersionNotFoundError(`extension ${id} has no file version ${version}`);
      await client.query('UPDATE file_versions SET current = false WHERE extension_id = $1 AND current', [id]);
      await client.query('UPDATE file_versions SET current = true WHERE extension_id = $1 AND version = $2', [id, version]);
      const result = await client.query<ExtensionTuple>({
        text: `UPDATE extensions SET file_sha256 = $2, file_size = $3, file_uploaded_at = $4,
            resource_version = resource_version + 1, modified_at = $5
          WHERE id = $1
          RETURNING ${EXTENSION_OUTPUT}`,
        values: [id, restored.sha256, restored.size, restored.created_at, now],
        rowMode: 'array',
      });
      // The file it replaced is a kept version too: nothing is orphaned.
      return { record: tupleToRecord(result.rows[0] as ExtensionTuple), orphanedBlobs: [] };
    });
  }

  async listFileVersions(id: string, page: { from: number; size: number }): Promise<FileVersionPage> {
    const result = await this.pool.query<FileVersionRow & { total: string }>(
      `SELECT ${FILE_VERSION_OUTPUT}, count(*) OVER () AS total FROM file_versions WHERE extension_id = $1
       ORDER BY version DESC LIMIT $2 OFFSET $3`,
      [id, page.size, page.from],
    );
    const first = result.rows[0];
    // A page past the end has no row to carry the total: count separately then.
    const total = first !== undefined ? Number(first.total) : await this.countFileVersions(id);
    return { total, versions: result.rows.map(rowToFileVersion) };
  }

  private async countFileVersions(id: string): Promise<number> {
    const result = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM file_versions WHERE extension_id = $1', [id]);
    return Number(result.rows[0]?.n ?? 0);
  }

  async getFileVersion(id: string, version: number): Promise<FileVersionRecord | null> {
    const result = await this.pool.query<FileVersionRow>(
      `SELECT ${FILE_VERSION_OUTPUT} FROM file_versions WHERE extension_id = $1 AND version = $2`,
      [id, version],
    );
    const row = result.rows[0];
    return row ? rowToFileVersion(row) : null;
  }

  async deleteExtension(id: string, expectedVersion?: number): Promise<ChangeResult> {
    return this.transaction(async (client) => {
      const record = await this.lockForChange(client, id, expectedVersion);
      // A new statement after the row lock: it sees every plan that committed a reference before
      // we got the lock, and plans that come later wait for our commit (postgres-deployment-store.ts).
      const usedBy = await client.query<{ id: string; name: string; owner_id: string | null }>(
        `SELECT d.id, d.name, d.owner_id FROM deployment_extensions r JOIN deployments d ON d.id = r.deployment_id
         WHERE r.extension_id = $1 ORDER BY d.created_at, d.id LIMIT 100`,
        [id],
      );
      if (usedBy.rows.length > 0) throw new ExtensionInUseError(usedBy.rows.map(toReferencingDeployment));
      // The history goes with the extension (ON DELETE CASCADE); its blobs may be orphaned.
      const history = await client.query<{ sha256: string }>('SELECT DISTINCT sha256 FROM file_versions WHERE extension_id = $1', [id]);
      const dropped = history.rows.map((row) => row.sha256);
      await client.query('DELETE FROM extensions WHERE id = $1', [id]);
      return { record, orphanedBlobs: await this.orphansAmong(client, orphanCandidates(dropped, record.file?.sha256 ?? null)) };
    });
  }

  /**
   * Locks the row a change applies to and enforces existence and the optimistic version. A
   * concurrent change of the same row waits here until the first commits, then sees its result.
   */
  private async lockForChange(client: pg.PoolClient, id: string, expectedVersion: number | undefined): Promise<ExtensionRecord> {
    const [current] = await this.selectExtensions(client, 'WHERE id = $1 FOR UPDATE', [id]);
    return checkChangeable('extension', id, current, (found) => found.resourceVersion, expectedVersion);
  }

  /**
   * Those of the blobs this transaction's change dropped that nothing references any more, sorted.
   * Two transactions dropping the last two references at once would each still see the other's
   * reference, and neither would report the orphan; a per-hash transaction lock orders them, and
   * the count (a new statement, hence a fresh snapshot) then sees what the first committed. Locks
   * are taken in one global order (by key), so two changes releasing the same blobs cannot deadlock.
   */
  private async orphansAmong(client: pg.PoolClient, candidates: readonly string[]): Promise<string[]> {
    const keyed = [...new Set(candidates)].map((sha256) => ({ sha256, key: intKey(sha256) })).sort((a, b) => a.key - b.key);
    const orphans: string[] = [];
    for (const { sha256, key } of keyed) {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE.blobReferences, key]);
      const counts = await this.referenceCounts(client, [sha256]);
      if ((counts.get(sha256) ?? 0) === 0) orphans.push(sha256);
    }
    // Recorded with the change itself: a crash before the blob is removed leaves it to the next collection.
    await recordGcCandidatesWith(client, orphans, new Date());
    return orphans.sort();
  }

  /** The reference count of each hash, by the one BLOB_REFERENCES query. */
  private async referenceCounts(db: { query: pg.Pool['query'] }, sha256s: readonly string[]): Promise<Map<string, number>> {
    const result = await db.query<{ sha256: string; n: string }>(COUNT_BLOB_REFERENCES, [sha256s]);
    return new Map(result.rows.map((row) => [row.sha256, Number(row.n)]));
  }

  async countBlobReferences(sha256: string): Promise<number> {
    return (await this.referenceCounts(this.db, [sha256])).get(sha256) ?? 0;
  }

  async unreferencedAmong(sha256s: readonly string[]): Promise<string[]> {
    if (sha256s.length === 0) return [];
    const counts = await this.referenceCounts(this.db, [...new Set(sha256s)]);
    return [...counts].filter(([, n]) => n === 0).map(([sha256]) => sha256);
  }

  async referencedBlobBytes(): Promise<number> {
    const result = await this.db.query<{ n: string }>(
      `SELECT coalesce(sum(size), 0) AS n
       FROM (SELECT file_sha256, file_size AS size FROM extensions WHERE file_sha256 IS NOT NULL
             UNION SELECT sha256, size FROM file_versions) AS distinct_files`,
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  /**
   * A session-level advisory lock held on a dedicated connection for as long as fn runs: it
   * excludes every instance on this database, and dies with the session if this process does.
   */
  withBlobLock<T>(sha256: string, fn: () => Promise<T>): Promise<T> {
    const key = blobLockKey(sha256);
    return this.localBlobLocks.run(sha256, async () => {
      const { client, release } = await this.checkout(this.lockPool);
      try {
        await client.query('SELECT pg_advisory_lock($1)', [key]);
      } catch (error) {
        release(error as Error);
        throw classifyPostgresError(error);
      }
      try {
        return await fn();
      } finally {
        try {
          await client.query('SELECT pg_advisory_unlock($1)', [key]);
          release();
        } catch (error) {
          // Destroying the connection ends the session, which releases the lock all the same.
          release(error as Error);
        }
      }
    });
  }

  protected runSteps<T>(steps: SqlSteps<T>): Promise<T> {
    return runStepsAsync(steps, (request) => runRequest(this.db, request));
  }

  protected runTransaction<T>(steps: SqlSteps<T>): Promise<T> {
    return this.transaction((client) => runStepsAsync(steps, (request) => runRequest(client, request)));
  }

  async getSetting(key: string): Promise<string | null> {
    const result = await this.db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return result.rows[0]?.value ?? null;
  }

  async initSetting(key: string, value: string): Promise<string> {
    // ON CONFLICT waits for a concurrent inserter to commit; the read that follows (a new
    // statement, so a new snapshot) then sees the winner's value.
    const inserted = await this.db.query<{ value: string }>(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value',
      [key, value],
    );
    const mine = inserted.rows[0]?.value;
    if (mine !== undefined) return mine;
    const stored = await this.getSetting(key);
    if (stored === null) throw new Error(`setting ${key} vanished while being initialised`);
    return stored;
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  async close(): Promise<void> {
    // pg throws on a second end(); closing twice is harmless for every store.
    if (this.pool.ending) return;
    await Promise.all([this.pool.end(), this.lockPool.end()]);
  }
}
