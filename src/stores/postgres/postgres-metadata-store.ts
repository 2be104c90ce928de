// The scale-out metadata store: PostgreSQL shared by every extrepo instance. Each rule of the
// contract is enforced by the database itself, so it holds across instances: the primary key
// makes ids unique, row locks (SELECT … FOR UPDATE) make version checks and writes atomic, and
// advisory locks serialize reference counting and blob locks.
import pg from 'pg';
import {
  ExtensionInUseError,
  FileVersionNotFoundError,
  IdCollisionError,
  LastAdminError,
  NotFoundError,
  PLATFORM_ADMIN_ROLE,
  UserOwnsExtensionsError,
  VersionConflictError,
  type ApiKeyRecord,
  type AuditEntry,
  type AuditQuery,
  type AuditRecord,
  type BrowsePage,
  type BrowseQuery,
  type BrowseSortField,
  type DeleteUserOptions,
  type SessionRecord,
  type UserChanges,
  type UserRecord,
  type ChangeResult,
  type ExtensionChanges,
  type ExtensionRecord,
  type FileVersionPage,
  type FileVersionRecord,
  type ListOptions,
  type MetadataStore,
  type NewExtension,
  type NewFile,
} from '../metadata-store.js';
import { checkFileCondition, provenanceColumns, rowToFileVersion, type FileVersionRow } from '../file-version-row.js';
import { browseStatement, type BrowseDialect } from '../browse-sql.js';
import { EXTENSION_COLUMNS, tupleToRecord, type ExtensionTuple } from '../extension-tuple.js';
import type { GcCandidate, GcSweepState, GcSweepUpdate } from '../gc-state-store.js';
import { PostgresGcState, recordGcCandidatesWith } from './gc-state.js';
import { KeyedMutex } from '../keyed-mutex.js';
import { LOCK_NAMESPACE, blobLockKey, intKey } from './lock-keys.js';
import { migrate } from './migrations.js';
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

// Text is compared bytewise (COLLATE "C", as SQLite does and as the name indexes of migration 9
// are built), whatever the database's locale; ILIKE ignores case.
const POSTGRES_SORT_KEYS: Record<BrowseSortField, string> = {
  name: 'name COLLATE "C"',
  extension_type: 'extension_type COLLATE "C"',
  version: 'version COLLATE "C"',
  size: 'coalesce(file_size, -1)',
  sha256: `coalesce(file_sha256, '') COLLATE "C"`,
  last_modified: `coalesce(file_uploaded_at, 'epoch'::timestamptz)`,
};

const POSTGRES_BROWSE: BrowseDialect = {
  placeholder: (position) => `$${position}`,
  sortExpression: (field) => POSTGRES_SORT_KEYS[field],
  matches: (column, placeholder) => `${column} ILIKE ${placeholder} ESCAPE '\\'`,
  // Times are epoch milliseconds in the cursor; a Date is sent to PostgreSQL exactly.
  keyParameter: (field, key) => (field === 'last_modified' ? new Date(Number(key)) : key),
};

/** What reads select (and writes return): EXTENSION_COLUMNS with times as epoch ms. */
const EXTENSION_OUTPUT = `id, name, version, extension_type, description, download_url, file_sha256, file_size,
  ${epochMs('file_uploaded_at')}, owner_id, resource_version, ${epochMs('created_at')}, ${epochMs('modified_at')}`;

/** What file_versions reads select: every column, created_at as epoch ms. */
const FILE_VERSION_OUTPUT = `extension_id, version, sha256, size, ${epochMs('created_at')} AS created_at, created_by, source_kind,
  source_form, source_url, plugin_name, plugin_version, plugin_classname, plugin_elasticsearch_version, current`;

interface ApiKeyRow {
  id: string;
  secret_hash: string;
  user_id: string;
  description: string;
  created_at: Date;
  expires_at: Date | null;
  roles: string | null;
}

function toApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    userId: row.user_id,
    description: row.description,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    roles: row.roles === null ? null : (JSON.parse(row.roles) as string[]),
  };
}

interface UserRow {
  user_name: string;
  full_name: string | null;
  email: string | null;
  roles: string;
  enabled: boolean;
  builtin: boolean;
  password_hash: string | null;
  created_at: Date;
  created_by: string | null;
  updated_at: Date;
  updated_by: string | null;
  last_login_at: Date | null;
}

function toUser(row: UserRow): UserRecord {
  return {
    userName: row.user_name,
    fullName: row.full_name,
    email: row.email,
    roles: JSON.parse(row.roles) as string[],
    enabled: row.enabled,
    builtin: row.builtin,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    createdBy: row.created_by,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
    lastLoginAt: row.last_login_at,
  };
}

interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

function toSession(row: SessionRow): SessionRecord {
  return { id: row.id, userId: row.user_id, createdAt: row.created_at, expiresAt: row.expires_at, revokedAt: row.revoked_at };
}

interface AuditRow {
  id: string;
  at: Date;
  user_id: string | null;
  key_id: string | null;
  action: string;
  target: string | null;
  outcome: string;
  status: number;
  error_code: string | null;
  client_address: string | null;
  request_id: string | null;
}

function toAudit(row: AuditRow): AuditRecord {
  return {
    id: Number(row.id),
    at: row.at,
    userId: row.user_id,
    keyId: row.key_id,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditRecord['outcome'],
    status: row.status,
    errorCode: row.error_code,
    clientAddress: row.client_address,
    requestId: row.request_id,
  };
}

function isEnabledAdmin(user: UserRecord): boolean {
  return user.enabled && user.roles.includes(PLATFORM_ADMIN_ROLE);
}

const USERS_LOCK = [LOCK_NAMESPACE.users, 0];

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

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
function guardedQuery(pool: pg.Pool): pg.Pool['query'] {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  return ((...args: unknown[]) => query(...args).catch(rethrowClassified)) as pg.Pool['query'];
}

class PostgresMetadataStore implements MetadataStore {
  /** Same-hash waiters of this process queue here, rather than each holding a lock connection. */
  private readonly localBlobLocks = new KeyedMutex();
  /** Every query outside a transaction goes through here, so outages are classified at the boundary. */
  private readonly db: { query: pg.Pool['query'] };
  readonly deployments: PostgresDeploymentStore;
  private readonly gcState: PostgresGcState;

  constructor(
    private readonly pool: pg.Pool,
    private readonly lockPool: pg.Pool,
    private readonly onError: (error: Error) => void,
  ) {
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
    if (file === null) return this.insertExtensionRow(this.pool, extension);
    // With a file, the extension and its file version 1 commit together.
    return this.transaction(async (client) => {
      const record = await this.insertExtensionRow(client, extension);
      await this.addFileVersion(client, extension.id, file, 0);
      return record;
    });
  }

  private async insertExtensionRow(db: Queryable, extension: NewExtension): Promise<ExtensionRecord> {
    try {
      const result = await this.db.query<ExtensionTuple>({
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
      if (isUniqueViolation(error)) throw new IdCollisionError(`extension ${extension.id} already exists`);
      throw error;
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
    const statement = browseStatement(query, POSTGRES_BROWSE);
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
      const candidates = changes.file ? await this.addFileVersion(client, id, changes.file, changes.keepFileVersions ?? 0) : [];
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
      if (current.file !== null) candidates.push(current.file.sha256);
      return { record, orphanedBlobs: await this.orphansAmong(client, candidates) };
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
      if (usedBy.rows.length > 0) {
        throw new ExtensionInUseError(usedBy.rows.map((row) => ({ id: row.id, name: row.name, ownerId: row.owner_id })));
      }
      // The history goes with the extension (ON DELETE CASCADE); its blobs may be orphaned.
      const history = await client.query<{ sha256: string }>('SELECT DISTINCT sha256 FROM file_versions WHERE extension_id = $1', [id]);
      const candidates = history.rows.map((row) => row.sha256);
      if (record.file !== null) candidates.push(record.file.sha256);
      await client.query('DELETE FROM extensions WHERE id = $1', [id]);
      return { record, orphanedBlobs: await this.orphansAmong(client, candidates) };
    });
  }

  /**
   * Locks the row a change applies to and enforces existence and the optimistic version. A
   * concurrent change of the same row waits here until the first commits, then sees its result.
   */
  private async lockForChange(client: pg.PoolClient, id: string, expectedVersion: number | undefined): Promise<ExtensionRecord> {
    const [current] = await this.selectExtensions(client, 'WHERE id = $1 FOR UPDATE', [id]);
    if (!current) throw new NotFoundError(`extension ${id} does not exist`);
    if (expectedVersion !== undefined && current.resourceVersion !== expectedVersion) {
      throw new VersionConflictError(expectedVersion, current.resourceVersion);
    }
    return current;
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

  recordGcCandidates(sha256s: readonly string[], at: Date): Promise<void> {
    return this.gcState.recordGcCandidates(sha256s, at);
  }

  listGcCandidates(after: string | null, limit: number): Promise<GcCandidate[]> {
    return this.gcState.listGcCandidates(after, limit);
  }

  forgetGcCandidates(candidates: readonly GcCandidate[]): Promise<number> {
    return this.gcState.forgetGcCandidates(candidates);
  }

  countGcCandidates(): Promise<number> {
    return this.gcState.countGcCandidates();
  }

  getGcSweep(): Promise<GcSweepState> {
    return this.gcState.getGcSweep();
  }

  saveGcSweep(next: GcSweepUpdate, expectedRevision: number): Promise<boolean> {
    return this.gcState.saveGcSweep(next, expectedRevision);
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

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO api_keys (id, secret_hash, user_id, description, created_at, expires_at, roles)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          key.id,
          key.secretHash,
          key.userId,
          key.description,
          key.createdAt,
          key.expiresAt,
          key.roles === null ? null : JSON.stringify(key.roles),
        ],
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new IdCollisionError(`API key ${key.id} already exists`);
      throw error;
    }
  }

  async findApiKey(id: string): Promise<ApiKeyRecord | null> {
    const result = await this.db.query<ApiKeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]);
    const row = result.rows[0];
    return row ? toApiKey(row) : null;
  }

  async countApiKeys(): Promise<number> {
    const result = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM api_keys');
    return Number(result.rows[0]?.n ?? 0);
  }

  async listApiKeys(userId?: string): Promise<ApiKeyRecord[]> {
    const result =
      userId === undefined
        ? await this.db.query<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at, id')
        : await this.db.query<ApiKeyRow>('SELECT * FROM api_keys WHERE user_id = $1 ORDER BY created_at, id', [userId]);
    return result.rows.map(toApiKey);
  }

  async deleteApiKeys(ids: readonly string[], userId?: string): Promise<string[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const result =
      userId === undefined
        ? await this.db.query<{ id: string }>('DELETE FROM api_keys WHERE id = ANY($1) RETURNING id', [unique])
        : await this.db.query<{ id: string }>('DELETE FROM api_keys WHERE id = ANY($1) AND user_id = $2 RETURNING id', [
            unique,
            userId,
          ]);
    return result.rows.map((row) => row.id);
  }

  async deleteApiKeysOfUser(userId: string): Promise<number> {
    const result = await this.db.query('DELETE FROM api_keys WHERE user_id = $1', [userId]);
    return result.rowCount ?? 0;
  }

  async insertUser(user: UserRecord): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO users (user_name, full_name, email, roles, enabled, builtin, password_hash, created_at, created_by,
           updated_at, updated_by, last_login_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          user.userName,
          user.fullName,
          user.email,
          JSON.stringify(user.roles),
          user.enabled,
          user.builtin,
          user.passwordHash,
          user.createdAt,
          user.createdBy,
          user.updatedAt,
          user.updatedBy,
          user.lastLoginAt,
        ],
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new IdCollisionError(`user ${user.userName} already exists`);
      throw error;
    }
  }

  async getUser(userName: string): Promise<UserRecord | null> {
    const result = await this.db.query<UserRow>('SELECT * FROM users WHERE user_name = $1', [userName]);
    const row = result.rows[0];
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    const result = await this.db.query<UserRow>('SELECT * FROM users ORDER BY user_name');
    return result.rows.map(toUser);
  }

  async updateUser(userName: string, changes: UserChanges): Promise<UserRecord> {
    return this.transaction(async (client) => {
      // Every change that could demote or disable an admin is serialized, so two instances cannot
      // each remove "the other" last admin.
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', USERS_LOCK);
      const current = await this.lockUser(client, userName);
      const result = await client.query<UserRow>(
        `UPDATE users SET full_name = $2, email = $3, roles = $4, enabled = $5, password_hash = $6, updated_at = $7,
           updated_by = $8
         WHERE user_name = $1 RETURNING *`,
        [
          userName,
          changes.fullName === undefined ? current.fullName : changes.fullName,
          changes.email === undefined ? current.email : changes.email,
          JSON.stringify(changes.roles ?? current.roles),
          changes.enabled ?? current.enabled,
          changes.passwordHash ?? current.passwordHash,
          changes.updatedAt,
          changes.updatedBy,
        ],
      );
      const next = toUser(result.rows[0] as UserRow);
      if (isEnabledAdmin(current) && !isEnabledAdmin(next)) await this.requireAnEnabledAdmin(client);
      return next;
    });
  }

  async deleteUser(userName: string, options: DeleteUserOptions = {}): Promise<{ reassigned: number }> {
    return this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', USERS_LOCK);
      const current = await this.lockUser(client, userName);
      const owned = await client.query<{ n: string }>('SELECT count(*) AS n FROM extensions WHERE owner_id = $1', [userName]);
      const count = Number(owned.rows[0]?.n ?? 0);
      if (count > 0 && options.reassignExtensionsTo === undefined) throw new UserOwnsExtensionsError(count);
      let reassigned = 0;
      if (count > 0 && options.reassignExtensionsTo !== undefined) {
        await this.lockUser(client, options.reassignExtensionsTo);
        const moved = await client.query('UPDATE extensions SET owner_id = $1 WHERE owner_id = $2', [
          options.reassignExtensionsTo,
          userName,
        ]);
        reassigned = moved.rowCount ?? 0;
      }
      await client.query('DELETE FROM users WHERE user_name = $1', [userName]);
      await client.query('DELETE FROM api_keys WHERE user_id = $1', [userName]);
      await client.query('DELETE FROM sessions WHERE user_id = $1', [userName]);
      if (isEnabledAdmin(current)) await this.requireAnEnabledAdmin(client);
      return { reassigned };
    });
  }

  private async lockUser(client: pg.PoolClient, userName: string): Promise<UserRecord> {
    const result = await client.query<UserRow>('SELECT * FROM users WHERE user_name = $1 FOR UPDATE', [userName]);
    const row = result.rows[0];
    if (!row) throw new NotFoundError(`user ${userName} does not exist`);
    return toUser(row);
  }

  private async requireAnEnabledAdmin(client: pg.PoolClient): Promise<void> {
    const result = await client.query<UserRow>('SELECT * FROM users WHERE enabled');
    if (!result.rows.map(toUser).some(isEnabledAdmin)) {
      throw new LastAdminError('the change would leave no enabled platform admin');
    }
  }

  async recordLogin(userName: string, at: Date): Promise<void> {
    await this.db.query('UPDATE users SET last_login_at = $2 WHERE user_name = $1', [userName, at]);
  }

  async insertSession(session: SessionRecord): Promise<void> {
    try {
      await this.db.query(
        'INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5)',
        [session.id, session.userId, session.createdAt, session.expiresAt, session.revokedAt],
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new IdCollisionError(`session ${session.id} already exists`);
      throw error;
    }
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const result = await this.db.query<SessionRow>('SELECT * FROM sessions WHERE id = $1', [id]);
    const row = result.rows[0];
    return row ? toSession(row) : null;
  }

  async revokeSession(id: string, at: Date): Promise<boolean> {
    const result = await this.db.query('UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [id, at]);
    return (result.rowCount ?? 0) > 0;
  }

  async revokeSessionsOfUser(userId: string, at: Date): Promise<number> {
    const result = await this.db.query('UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL', [
      userId,
      at,
    ]);
    return result.rowCount ?? 0;
  }

  async deleteExpiredSessions(before: Date): Promise<number> {
    const result = await this.db.query('DELETE FROM sessions WHERE expires_at < $1', [before]);
    return result.rowCount ?? 0;
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO audit (at, user_id, key_id, action, target, outcome, status, error_code, client_address, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        entry.at,
        entry.userId,
        entry.keyId,
        entry.action,
        entry.target,
        entry.outcome,
        entry.status,
        entry.errorCode,
        entry.clientAddress,
        entry.requestId,
      ],
    );
  }

  async listAudit(query: AuditQuery): Promise<{ total: number; records: AuditRecord[] }> {
    const clauses: string[] = [];
    const values: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      values.push(value);
      clauses.push(clause.replace('?', `$${values.length}`));
    };
    if (query.userId !== undefined) add('user_id = ?', query.userId);
    if (query.action !== undefined) add('action = ?', query.action);
    if (query.target !== undefined) add('target = ?', query.target);
    if (query.outcome !== undefined) add('outcome = ?', query.outcome);
    if (query.since !== undefined) add('at >= ?', query.since);
    if (query.until !== undefined) add('at < ?', query.until);
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    const total = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM audit ${where}`, values);
    const n = values.length;
    const rows = await this.db.query<AuditRow>(
      `SELECT * FROM audit ${where} ORDER BY at DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...values, query.size, query.from],
    );
    return { total: Number(total.rows[0]?.n ?? 0), records: rows.rows.map(toAudit) };
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
