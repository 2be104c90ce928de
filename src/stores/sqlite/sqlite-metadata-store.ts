// The embedded metadata store: one SQLite file next to the blobs. better-sqlite3 is synchronous, so
// every statement runs to completion on the calling tick; that makes each method (and each
// transaction) atomic within this process, and SQLite's own file locking keeps other processes
// (e.g. an admin tool opening the same file) consistent. Methods are async only to fit the contract.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
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
  type ExtensionType,
  type FileVersionPage,
  type FileVersionRecord,
  type ListOptions,
  type MetadataStore,
  type NewExtension,
  type NewFile,
} from '../metadata-store.js';
import {
  FILE_VERSION_COLUMNS,
  checkFileCondition,
  provenanceColumns,
  rowToFileVersion,
  type FileVersionRow,
} from '../file-version-row.js';
import { browseStatement, type BrowseDialect } from '../browse-sql.js';
import { EXTENSION_COLUMNS, tupleToRecord, type ExtensionTuple } from '../extension-tuple.js';
import type { GcCandidate, GcSweepState, GcSweepUpdate } from '../gc-state-store.js';
import { SqliteGcState } from './gc-state.js';
import { KeyedMutex } from '../keyed-mutex.js';
import { migrate } from './migrations.js';
import { SqliteDeploymentStore } from './sqlite-deployment-store.js';

interface ExtensionRow {
  id: string;
  name: string;
  version: string;
  extension_type: string;
  description: string | null;
  download_url: string | null;
  file_sha256: string | null;
  file_size: number | null;
  file_uploaded_at: number | null;
  owner_id: string | null;
  resource_version: number;
  created_at: number;
  modified_at: number;
}

interface ApiKeyRow {
  id: string;
  secret_hash: string;
  user_id: string;
  description: string;
  created_at: number;
  expires_at: number | null;
  roles: string | null;
}

interface UserRow {
  user_name: string;
  full_name: string | null;
  email: string | null;
  roles: string;
  enabled: number;
  builtin: number;
  password_hash: string | null;
  created_at: number;
  created_by: string | null;
  updated_at: number;
  updated_by: string | null;
  last_login_at: number | null;
}

interface SessionRow {
  id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

interface AuditRow {
  id: number;
  at: number;
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

function toUser(row: UserRow): UserRecord {
  return {
    userName: row.user_name,
    fullName: row.full_name,
    email: row.email,
    roles: JSON.parse(row.roles) as string[],
    enabled: row.enabled === 1,
    builtin: row.builtin === 1,
    passwordHash: row.password_hash,
    createdAt: new Date(row.created_at),
    createdBy: row.created_by,
    updatedAt: new Date(row.updated_at),
    updatedBy: row.updated_by,
    lastLoginAt: row.last_login_at === null ? null : new Date(row.last_login_at),
  };
}

function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
  };
}

function toAudit(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    at: new Date(row.at),
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

function isEnabledAdmin(row: { enabled: number; roles: string }): boolean {
  return row.enabled === 1 && (JSON.parse(row.roles) as string[]).includes(PLATFORM_ADMIN_ROLE);
}

function toRecord(row: ExtensionRow): ExtensionRecord {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    extensionType: row.extension_type as ExtensionType,
    description: row.description,
    downloadUrl: row.download_url,
    file:
      row.file_sha256 === null
        ? null
        : { sha256: row.file_sha256, size: row.file_size as number, uploadedAt: new Date(row.file_uploaded_at as number) },
    ownerId: row.owner_id,
    resourceVersion: row.resource_version,
    createdAt: new Date(row.created_at),
    modifiedAt: new Date(row.modified_at),
  };
}

function toApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    userId: row.user_id,
    description: row.description,
    createdAt: new Date(row.created_at),
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
    roles: row.roles === null ? null : (JSON.parse(row.roles) as string[]),
  };
}

function isPrimaryKeyViolation(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Epoch ms of a Date, refusing invalid dates (NaN would otherwise fail deep inside SQLite). */
function ms(date: Date): number {
  const value = date.getTime();
  if (!Number.isFinite(value)) throw new TypeError('invalid Date');
  return value;
}

/**
 * Opens (creating if needed, with its directory) the SQLite database at `file` and brings its
 * schema up to date. Refuses a database written by a newer extrepo.
 */
export async function openSqliteMetadataStore(file: string): Promise<MetadataStore> {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  try {
    // WAL lets readers proceed during a write; synchronous=FULL fsyncs the WAL at every commit,
    // so a committed change survives a power loss (NORMAL could lose the last transactions).
    // The embedded store belongs to one process: blob locks are in-process (KeyedMutex), so a second
    // server on the same data dir would break the reference counts. Exclusive locking, set before
    // the first access and claimed at once by a write transaction, turns that mistake into a clear
    // error at start-up, and spares the file-lock system calls of every query.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('busy_timeout = 2000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.exec('BEGIN IMMEDIATE; COMMIT');
    migrate(db, file);
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(
        `The database ${file} is in use by another process. The embedded SQLite store serves one extrepo ` +
          'process at a time: stop the other one, or run several instances on PostgreSQL (EXTREPO_DATABASE_URL).',
        { cause: error },
      );
    }
    throw error;
  }
  return new SqliteMetadataStore(db);
}

/**
 * THE definition of a blob reference: one sha256 per referencing row. Counting a blob's references
 * (releasing it after a change) and finding unreferenced blobs (garbage collection) both read this
 * one query, so EVERY TABLE WHOSE ROWS REFERENCE BLOBS MUST BE PART OF IT (as another UNION ALL
 * branch); a table left out would have its blobs collected while still in use. Each branch must be
 * served by an index on its sha256 column (extensions_by_file, file_versions_by_sha256).
 *
 * Here: extensions' files and (issue 13) kept file versions, the extensions that reference the blob
 * `hash` (an SQL expression); an extension whose current file is also its current version counts
 * once. The hash is in each branch, so each is one index lookup: SQLite does not push a correlated
 * condition into a UNION, and filtering the union of every reference instead cost one scan of both
 * tables per hash (120 ms per count at 10,000 extensions, so garbage collection and every delete grew
 * with the repository).
 */
const BLOB_REFERENCES = (hash: string) => `SELECT id AS extension_id FROM extensions WHERE file_sha256 = ${hash}
  UNION SELECT extension_id FROM file_versions WHERE sha256 = ${hash}`;

/** How many references each hash of the JSON array parameter has, by BLOB_REFERENCES. */
const COUNT_BLOB_REFERENCES = `SELECT c.value, (SELECT count(*) FROM (${BLOB_REFERENCES('c.value')}))
  FROM json_each(?) AS c`;

const RECORD_CACHE_MAX = 10_000;

// SQLite compares text bytewise (BINARY) and LIKE ignores the case of ASCII letters.
const SQLITE_SORT_KEYS: Record<BrowseSortField, string> = {
  name: 'name',
  extension_type: 'extension_type',
  version: 'version',
  size: 'coalesce(file_size, -1)',
  sha256: "coalesce(file_sha256, '')",
  last_modified: 'coalesce(file_uploaded_at, 0)',
};

const SQLITE_BROWSE: BrowseDialect = {
  placeholder: () => '?',
  sortExpression: (field) => SQLITE_SORT_KEYS[field],
  matches: (column, placeholder) => `${column} LIKE ${placeholder} ESCAPE '\\'`,
  keyParameter: (_field, key) => key,
};

class SqliteMetadataStore implements MetadataStore {
  private readonly blobLocks = new KeyedMutex();
  private readonly authListeners = new Set<() => void>();
  /**
   * Recently read extensions. This process is the database's only writer (exclusive lock), and
   * every write below updates the cache after it commits, so a hit is never stale; it spares the
   * metadata GET its one query. The same record object is returned until the extension changes,
   * so callers can memoize what they derive from it (the GET route keeps its serialized answer).
   */
  private readonly recordCache = new Map<string, ExtensionRecord>();
  private readonly browseStatements = new Map<string, Database.Statement>();
  // Prepared once: statement preparation dominates the cost of small queries.
  private readonly statements;
  readonly deployments: SqliteDeploymentStore;
  private readonly gcState: SqliteGcState;

  constructor(private readonly db: Database.Database) {
    this.deployments = new SqliteDeploymentStore(db);
    this.gcState = new SqliteGcState(db);
    this.statements = {
      insertExtension: db.prepare(`INSERT INTO extensions (${EXTENSION_COLUMNS})
        VALUES (@id, @name, @version, @extension_type, @description, @download_url, @file_sha256, @file_size,
          @file_uploaded_at, @owner_id, @resource_version, @created_at, @modified_at)`),
      getExtension: db.prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE id = ?`),
      listAll: db.prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions ORDER BY created_at, id LIMIT ?`).raw(),
      listAllAfter: db
        .prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`)
        .raw(),
      listByOwner: db
        .prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE owner_id = ? ORDER BY created_at, id LIMIT ?`)
        .raw(),
      listByOwnerAfter: db
        .prepare(
          `SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE owner_id = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`,
        )
        .raw(),
      updateExtension: db.prepare(`UPDATE extensions SET name = @name, version = @version, description = @description,
          download_url = @download_url, file_sha256 = @file_sha256, file_size = @file_size,
          file_uploaded_at = @file_uploaded_at, resource_version = @resource_version, modified_at = @modified_at
        WHERE id = @id`),
      deleteExtension: db.prepare('DELETE FROM extensions WHERE id = ?'),
      usedBy: db.prepare(`SELECT d.id, d.name, d.owner_id FROM deployment_extensions r
        JOIN deployments d ON d.id = r.deployment_id WHERE r.extension_id = ? ORDER BY d.created_at, d.id LIMIT 100`),
      countReferences: db.prepare(COUNT_BLOB_REFERENCES).raw(),
      referencedBlobBytes: db
        .prepare(
          `SELECT coalesce(sum(size), 0) FROM (SELECT file_sha256, file_size AS size FROM extensions WHERE file_sha256 IS NOT NULL
             UNION SELECT sha256, size FROM file_versions)`,
        )
        .pluck(),
      insertFileVersion: db.prepare(`INSERT INTO file_versions (${FILE_VERSION_COLUMNS})
        VALUES (@extension_id, @version, @sha256, @size, @created_at, @created_by, @source_kind, @source_form, @source_url,
          @plugin_name, @plugin_version, @plugin_classname, @plugin_elasticsearch_version, @current)`),
      nextFileVersion: db
        .prepare('SELECT coalesce(max(version), 0) + 1 FROM file_versions WHERE extension_id = ?')
        .pluck(),
      clearCurrentFileVersion: db.prepare('UPDATE file_versions SET current = 0 WHERE extension_id = ? AND current = 1'),
      setCurrentFileVersion: db.prepare('UPDATE file_versions SET current = 1 WHERE extension_id = ? AND version = ?'),
      // Everything past the newest `keep` versions, except the current one.
      prunableFileVersions: db.prepare(
        `SELECT version, sha256 FROM file_versions WHERE extension_id = ?
         ORDER BY version DESC LIMIT -1 OFFSET ?`,
      ),
      deleteFileVersion: db.prepare('DELETE FROM file_versions WHERE extension_id = ? AND version = ? AND current = 0'),
      fileVersionBlobs: db.prepare('SELECT DISTINCT sha256 FROM file_versions WHERE extension_id = ?').pluck(),
      countFileVersions: db.prepare('SELECT count(*) FROM file_versions WHERE extension_id = ?').pluck(),
      listFileVersions: db.prepare(
        `SELECT ${FILE_VERSION_COLUMNS} FROM file_versions WHERE extension_id = ? ORDER BY version DESC LIMIT ? OFFSET ?`,
      ),
      getFileVersion: db.prepare(`SELECT ${FILE_VERSION_COLUMNS} FROM file_versions WHERE extension_id = ? AND version = ?`),
      insertApiKey: db.prepare(`INSERT INTO api_keys (id, secret_hash, user_id, description, created_at, expires_at, roles)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      listApiKeys: db.prepare('SELECT * FROM api_keys ORDER BY created_at, id'),
      listApiKeysOfUser: db.prepare('SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, id'),
      deleteApiKey: db.prepare('DELETE FROM api_keys WHERE id = ? RETURNING id'),
      deleteApiKeyOfUser: db.prepare('DELETE FROM api_keys WHERE id = ? AND user_id = ? RETURNING id'),
      deleteApiKeysOfUser: db.prepare('DELETE FROM api_keys WHERE user_id = ?'),
      insertUser: db.prepare(`INSERT INTO users (user_name, full_name, email, roles, enabled, builtin, password_hash,
          created_at, created_by, updated_at, updated_by, last_login_at)
        VALUES (@user_name, @full_name, @email, @roles, @enabled, @builtin, @password_hash,
          @created_at, @created_by, @updated_at, @updated_by, @last_login_at)`),
      getUser: db.prepare('SELECT * FROM users WHERE user_name = ?'),
      listUsers: db.prepare('SELECT * FROM users ORDER BY user_name'),
      updateUser: db.prepare(`UPDATE users SET full_name = @full_name, email = @email, roles = @roles, enabled = @enabled,
          password_hash = @password_hash, updated_at = @updated_at, updated_by = @updated_by
        WHERE user_name = @user_name`),
      deleteUser: db.prepare('DELETE FROM users WHERE user_name = ?'),
      enabledAdmins: db.prepare('SELECT enabled, roles FROM users WHERE enabled = 1'),
      recordLogin: db.prepare('UPDATE users SET last_login_at = ? WHERE user_name = ?'),
      countOwned: db.prepare('SELECT count(*) FROM extensions WHERE owner_id = ?').pluck(),
      reassignOwned: db.prepare('UPDATE extensions SET owner_id = ? WHERE owner_id = ?'),
      insertSession: db.prepare(
        'INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?)',
      ),
      getSession: db.prepare('SELECT * FROM sessions WHERE id = ?'),
      revokeSession: db.prepare('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      revokeSessionsOfUser: db.prepare('UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL'),
      deleteSessionsOfUser: db.prepare('DELETE FROM sessions WHERE user_id = ?'),
      deleteExpiredSessions: db.prepare('DELETE FROM sessions WHERE expires_at < ?'),
      appendAudit: db.prepare(`INSERT INTO audit (at, user_id, key_id, action, target, outcome, status, error_code,
          client_address, request_id)
        VALUES (@at, @user_id, @key_id, @action, @target, @outcome, @status, @error_code, @client_address, @request_id)`),
      findApiKey: db.prepare('SELECT * FROM api_keys WHERE id = ?'),
      countApiKeys: db.prepare('SELECT count(*) FROM api_keys').pluck(),
      getSetting: db.prepare('SELECT value FROM settings WHERE key = ?').pluck(),
      initSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
      ping: db.prepare('SELECT 1').pluck(),
    };
  }

  async insertExtension(extension: NewExtension): Promise<ExtensionRecord> {
    const now = ms(extension.now);
    const row: ExtensionRow = {
      id: extension.id,
      name: extension.name,
      version: extension.version,
      extension_type: extension.extensionType,
      description: extension.description,
      download_url: extension.downloadUrl,
      file_sha256: extension.file?.sha256 ?? null,
      file_size: extension.file?.size ?? null,
      file_uploaded_at: extension.file ? ms(extension.file.uploadedAt) : null,
      owner_id: extension.ownerId,
      resource_version: 1,
      created_at: now,
      modified_at: now,
    };
    const file = extension.file;
    try {
      this.db
        .transaction(() => {
          this.statements.insertExtension.run(row);
          if (file) this.addFileVersion(extension.id, file, 0);
        })
        .immediate();
    } catch (error) {
      if (isPrimaryKeyViolation(error)) throw new IdCollisionError(`extension ${extension.id} already exists`);
      throw error;
    }
    return this.cacheRow(row);
  }

  /**
   * Records `file` as the extension's newest file version and makes it current; with `keep` > 0,
   * prunes all but the newest `keep` versions. Returns the blobs the pruned versions pointed at
   * (candidates for orphaning). Runs inside the caller's transaction.
   */
  private addFileVersion(id: string, file: NewFile, keep: number): string[] {
    const version = this.statements.nextFileVersion.get(id) as number;
    this.statements.clearCurrentFileVersion.run(id);
    this.statements.insertFileVersion.run({
      extension_id: id,
      version,
      sha256: file.sha256,
      size: file.size,
      created_at: ms(file.uploadedAt),
      ...provenanceColumns(file),
      current: 1,
    });
    if (keep <= 0) return [];
    const pruned: string[] = [];
    for (const old of this.statements.prunableFileVersions.all(id, keep) as Array<{ version: number; sha256: string }>) {
      if (this.statements.deleteFileVersion.run(id, old.version).changes > 0) pruned.push(old.sha256);
    }
    return pruned;
  }

  async getExtension(id: string): Promise<ExtensionRecord | null> {
    const cached = this.recordCache.get(id);
    if (cached !== undefined) return cached;
    const row = this.statements.getExtension.get(id) as ExtensionRow | undefined;
    return row === undefined ? null : this.cacheRow(row);
  }

  private cacheRow(row: ExtensionRow): ExtensionRecord {
    if (this.recordCache.size >= RECORD_CACHE_MAX && !this.recordCache.has(row.id)) {
      this.recordCache.delete(this.recordCache.keys().next().value as string);
    }
    const record = toRecord(row);
    this.recordCache.set(row.id, record);
    return record;
  }

  async listExtensions(options: ListOptions = {}): Promise<ExtensionRecord[]> {
    const limit = options.limit ?? -1; // SQLite: a negative LIMIT means none
    const after = options.after === undefined ? null : [ms(options.after.createdAt), options.after.id];
    let rows: unknown[];
    if (options.ownerId === undefined) {
      rows = after === null ? this.statements.listAll.all(limit) : this.statements.listAllAfter.all(...after, limit);
    } else {
      rows =
        after === null
          ? this.statements.listByOwner.all(options.ownerId, limit)
          : this.statements.listByOwnerAfter.all(options.ownerId, ...after, limit);
    }
    return (rows as ExtensionTuple[]).map(tupleToRecord);
  }

  async browseExtensions(query: BrowseQuery): Promise<BrowsePage> {
    const statement = browseStatement(query, SQLITE_BROWSE);
    const rows = this.browseStatement(`SELECT ${EXTENSION_COLUMNS} FROM extensions ${statement.pageClause}`, true).all(
      ...statement.pageValues,
    ) as ExtensionTuple[];
    const total = this.browseStatement(`SELECT count(*) FROM extensions ${statement.filterClause}`, false).pluck().get(
      ...statement.filterValues,
    ) as number;
    return { records: rows.map(tupleToRecord), total };
  }

  /** Browse queries come in a few dozen shapes (filters × sort × direction × cursor): prepare each once. */
  private browseStatement(sql: string, raw: boolean): Database.Statement {
    let statement = this.browseStatements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      if (raw) statement.raw();
      this.browseStatements.set(sql, statement);
    }
    return statement;
  }

  async updateExtension(id: string, changes: ExtensionChanges, expectedVersion?: number): Promise<ChangeResult> {
    const modifiedAt = ms(changes.now);
    const fileUploadedAt = changes.file ? ms(changes.file.uploadedAt) : null;
    // One IMMEDIATE transaction: the version check, the write and the reference count see the
    // same state, even if another process writes the same file.
    const result = this.db
      .transaction((): { row: ExtensionRow; orphanedBlobs: string[] } => {
        const current = this.readForChange(id, expectedVersion);
        checkFileCondition(current.file_sha256, changes.ifFileSha256);
        const next: ExtensionRow = {
          ...current,
          name: changes.name,
          version: changes.version,
          description: changes.description,
          download_url: changes.downloadUrl,
          resource_version: current.resource_version + 1,
          modified_at: modifiedAt,
        };
        let candidates: string[] = [];
        if (changes.file) {
          next.file_sha256 = changes.file.sha256;
          next.file_size = changes.file.size;
          next.file_uploaded_at = fileUploadedAt;
          candidates = this.addFileVersion(id, changes.file, changes.keepFileVersions ?? 0);
        }
        this.statements.updateExtension.run(next);
        if (current.file_sha256 !== null) candidates.push(current.file_sha256);
        return { row: next, orphanedBlobs: this.orphansAmong(candidates) };
      })
      .immediate();
    return { record: this.cacheRow(result.row), orphanedBlobs: result.orphanedBlobs };
  }

  async restoreFileVersion(id: string, version: number, now: Date, expectedVersion?: number): Promise<ChangeResult> {
    const modifiedAt = ms(now);
    const row = this.db
      .transaction((): ExtensionRow => {
        const current = this.readForChange(id, expectedVersion);
        const target = this.statements.getFileVersion.get(id, version) as FileVersionRow | undefined;
        if (!target) throw new FileVersionNotFoundError(`extension ${id} has no file version ${version}`);
        this.statements.clearCurrentFileVersion.run(id);
        this.statements.setCurrentFileVersion.run(id, version);
        const next: ExtensionRow = {
          ...current,
          file_sha256: target.sha256,
          file_size: Number(target.size),
          file_uploaded_at: Number(target.created_at),
          resource_version: current.resource_version + 1,
          modified_at: modifiedAt,
        };
        this.statements.updateExtension.run(next);
        return next;
      })
      .immediate();
    // The file it replaced is a kept version too: nothing is orphaned.
    return { record: this.cacheRow(row), orphanedBlobs: [] };
  }

  async listFileVersions(id: string, page: { from: number; size: number }): Promise<FileVersionPage> {
    return this.db.transaction(() => {
      const total = this.statements.countFileVersions.get(id) as number;
      const rows = this.statements.listFileVersions.all(id, page.size, page.from) as FileVersionRow[];
      return { total, versions: rows.map(rowToFileVersion) };
    })();
  }

  async getFileVersion(id: string, version: number): Promise<FileVersionRecord | null> {
    const row = this.statements.getFileVersion.get(id, version) as FileVersionRow | undefined;
    return row ? rowToFileVersion(row) : null;
  }

  async deleteExtension(id: string, expectedVersion?: number): Promise<ChangeResult> {
    const result = this.db
      .transaction((): ChangeResult => {
        const current = this.readForChange(id, expectedVersion);
        const usedBy = this.statements.usedBy.all(id) as Array<{ id: string; name: string; owner_id: string | null }>;
        if (usedBy.length > 0) {
          throw new ExtensionInUseError(usedBy.map((row) => ({ id: row.id, name: row.name, ownerId: row.owner_id })));
        }
        // The history goes with the extension (ON DELETE CASCADE); its blobs may be orphaned.
        const candidates = this.statements.fileVersionBlobs.all(id) as string[];
        if (current.file_sha256 !== null) candidates.push(current.file_sha256);
        this.statements.deleteExtension.run(id);
        return { record: toRecord(current), orphanedBlobs: this.orphansAmong(candidates) };
      })
      .immediate();
    this.recordCache.delete(id);
    return result;
  }

  /** Reads the row a change applies to, enforcing existence and the optimistic version. */
  private readForChange(id: string, expectedVersion: number | undefined): ExtensionRow {
    const row = this.statements.getExtension.get(id) as ExtensionRow | undefined;
    if (!row) throw new NotFoundError(`extension ${id} does not exist`);
    if (expectedVersion !== undefined && row.resource_version !== expectedVersion) {
      throw new VersionConflictError(expectedVersion, row.resource_version);
    }
    return row;
  }

  /**
   * Those of the blobs a change dropped that nothing references any more, sorted; recorded as
   * garbage-collection candidates in the change's transaction.
   */
  private orphansAmong(candidates: readonly string[]): string[] {
    const unique = [...new Set(candidates)].sort();
    if (unique.length === 0) return [];
    const counts = this.referenceCounts(unique);
    const orphans = unique.filter((sha256) => (counts.get(sha256) ?? 0) === 0);
    this.gcState.recordInTransaction(orphans, new Date());
    return orphans;
  }

  /** The reference count of each hash, by the one BLOB_REFERENCES query. */
  private referenceCounts(sha256s: readonly string[]): Map<string, number> {
    const rows = this.statements.countReferences.all(JSON.stringify(sha256s)) as [string, number][];
    return new Map(rows);
  }

  async countBlobReferences(sha256: string): Promise<number> {
    return this.referenceCounts([sha256]).get(sha256) ?? 0;
  }

  async unreferencedAmong(sha256s: readonly string[]): Promise<string[]> {
    if (sha256s.length === 0) return [];
    const counts = this.referenceCounts([...new Set(sha256s)]);
    return [...counts].filter(([, n]) => n === 0).map(([sha256]) => sha256);
  }

  async referencedBlobBytes(): Promise<number> {
    return this.statements.referencedBlobBytes.get() as number;
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

  // SQLite is an embedded, single-server store: an in-process lock is exclusive across every
  // user of this store.
  withBlobLock<T>(sha256: string, fn: () => Promise<T>): Promise<T> {
    return this.blobLocks.run(sha256, fn);
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    try {
      this.statements.insertApiKey.run(
        key.id,
        key.secretHash,
        key.userId,
        key.description,
        ms(key.createdAt),
        key.expiresAt === null ? null : ms(key.expiresAt),
        key.roles === null ? null : JSON.stringify(key.roles),
      );
    } catch (error) {
      if (isPrimaryKeyViolation(error)) throw new IdCollisionError(`API key ${key.id} already exists`);
      throw error;
    }
  }

  async findApiKey(id: string): Promise<ApiKeyRecord | null> {
    const row = this.statements.findApiKey.get(id) as ApiKeyRow | undefined;
    return row ? toApiKey(row) : null;
  }

  async countApiKeys(): Promise<number> {
    return this.statements.countApiKeys.get() as number;
  }

  async listApiKeys(userId?: string): Promise<ApiKeyRecord[]> {
    const rows = (
      userId === undefined ? this.statements.listApiKeys.all() : this.statements.listApiKeysOfUser.all(userId)
    ) as ApiKeyRow[];
    return rows.map(toApiKey);
  }

  async deleteApiKeys(ids: readonly string[], userId?: string): Promise<string[]> {
    return this.changingAuth(() => this.db
      .transaction(() => {
        const deleted: string[] = [];
        for (const id of new Set(ids)) {
          const row = (
            userId === undefined
              ? this.statements.deleteApiKey.get(id)
              : this.statements.deleteApiKeyOfUser.get(id, userId)
          ) as { id: string } | undefined;
          if (row) deleted.push(row.id);
        }
        return deleted;
      })
      .immediate());
  }

  async deleteApiKeysOfUser(userId: string): Promise<number> {
    return this.changingAuth(() => this.statements.deleteApiKeysOfUser.run(userId).changes);
  }

  async insertUser(user: UserRecord): Promise<void> {
    try {
      this.statements.insertUser.run({
        user_name: user.userName,
        full_name: user.fullName,
        email: user.email,
        roles: JSON.stringify(user.roles),
        enabled: user.enabled ? 1 : 0,
        builtin: user.builtin ? 1 : 0,
        password_hash: user.passwordHash,
        created_at: ms(user.createdAt),
        created_by: user.createdBy,
        updated_at: ms(user.updatedAt),
        updated_by: user.updatedBy,
        last_login_at: user.lastLoginAt === null ? null : ms(user.lastLoginAt),
      });
    } catch (error) {
      if (isPrimaryKeyViolation(error)) throw new IdCollisionError(`user ${user.userName} already exists`);
      throw error;
    }
  }

  async getUser(userName: string): Promise<UserRecord | null> {
    const row = this.statements.getUser.get(userName) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    return (this.statements.listUsers.all() as UserRow[]).map(toUser);
  }

  async updateUser(userName: string, changes: UserChanges): Promise<UserRecord> {
    const updatedAt = ms(changes.updatedAt);
    return this.changingAuth(() => this.db
      .transaction((): UserRecord => {
        const current = this.statements.getUser.get(userName) as UserRow | undefined;
        if (!current) throw new NotFoundError(`user ${userName} does not exist`);
        const next: UserRow = {
          ...current,
          full_name: changes.fullName === undefined ? current.full_name : changes.fullName,
          email: changes.email === undefined ? current.email : changes.email,
          roles: changes.roles === undefined ? current.roles : JSON.stringify(changes.roles),
          enabled: changes.enabled === undefined ? current.enabled : changes.enabled ? 1 : 0,
          password_hash: changes.passwordHash ?? current.password_hash,
          updated_at: updatedAt,
          updated_by: changes.updatedBy,
        };
        this.statements.updateUser.run(next);
        if (isEnabledAdmin(current) && !isEnabledAdmin(next)) this.requireAnEnabledAdmin();
        return toUser(next);
      })
      .immediate());
  }

  async deleteUser(userName: string, options: DeleteUserOptions = {}): Promise<{ reassigned: number }> {
    return this.changingAuth(() => this.db
      .transaction(() => {
        const current = this.statements.getUser.get(userName) as UserRow | undefined;
        if (!current) throw new NotFoundError(`user ${userName} does not exist`);
        const owned = this.statements.countOwned.get(userName) as number;
        if (owned > 0 && options.reassignExtensionsTo === undefined) throw new UserOwnsExtensionsError(owned);
        let reassigned = 0;
        if (owned > 0 && options.reassignExtensionsTo !== undefined) {
          if (!this.statements.getUser.get(options.reassignExtensionsTo)) {
            throw new NotFoundError(`user ${options.reassignExtensionsTo} does not exist`);
          }
          reassigned = this.statements.reassignOwned.run(options.reassignExtensionsTo, userName).changes;
        }
        this.statements.deleteUser.run(userName);
        this.statements.deleteApiKeysOfUser.run(userName);
        this.statements.deleteSessionsOfUser.run(userName);
        if (isEnabledAdmin(current)) this.requireAnEnabledAdmin();
        // Reassigned extensions changed owner: forget cached rows (after the write, whatever happens).
        this.recordCache.clear();
        return { reassigned };
      })
      .immediate());
  }

  /** Throws (rolling the transaction back) when no enabled platform admin is left. */
  private requireAnEnabledAdmin(): void {
    const rows = this.statements.enabledAdmins.all() as Array<{ enabled: number; roles: string }>;
    if (!rows.some(isEnabledAdmin)) throw new LastAdminError('the change would leave no enabled platform admin');
  }

  async recordLogin(userName: string, at: Date): Promise<void> {
    this.statements.recordLogin.run(ms(at), userName);
  }

  async insertSession(session: SessionRecord): Promise<void> {
    try {
      this.statements.insertSession.run(
        session.id,
        session.userId,
        ms(session.createdAt),
        ms(session.expiresAt),
        session.revokedAt === null ? null : ms(session.revokedAt),
      );
    } catch (error) {
      if (isPrimaryKeyViolation(error)) throw new IdCollisionError(`session ${session.id} already exists`);
      throw error;
    }
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const row = this.statements.getSession.get(id) as SessionRow | undefined;
    return row ? toSession(row) : null;
  }

  async revokeSession(id: string, at: Date): Promise<boolean> {
    return this.changingAuth(() => this.statements.revokeSession.run(ms(at), id).changes > 0);
  }

  async revokeSessionsOfUser(userId: string, at: Date): Promise<number> {
    return this.changingAuth(() => this.statements.revokeSessionsOfUser.run(ms(at), userId).changes);
  }

  watchAuthChanges(listener: () => void): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  /**
   * Runs a change that can withdraw credentials (a key deleted, a user disabled, a session revoked)
   * and then tells the watchers, whether or not it succeeded: a cache must never outlive what it
   * caches. This process sees every change to the embedded store, so the notice is exact.
   */
  private changingAuth<T>(change: () => T): T {
    try {
      return change();
    } finally {
      for (const listener of this.authListeners) listener();
    }
  }

  async deleteExpiredSessions(before: Date): Promise<number> {
    return this.statements.deleteExpiredSessions.run(ms(before)).changes;
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.statements.appendAudit.run({
      at: ms(entry.at),
      user_id: entry.userId,
      key_id: entry.keyId,
      action: entry.action,
      target: entry.target,
      outcome: entry.outcome,
      status: entry.status,
      error_code: entry.errorCode,
      client_address: entry.clientAddress,
      request_id: entry.requestId,
    });
  }

  async listAudit(query: AuditQuery): Promise<{ total: number; records: AuditRecord[] }> {
    const clauses: string[] = [];
    const values: Array<string | number> = [];
    if (query.userId !== undefined) (clauses.push('user_id = ?'), values.push(query.userId));
    if (query.action !== undefined) (clauses.push('action = ?'), values.push(query.action));
    if (query.target !== undefined) (clauses.push('target = ?'), values.push(query.target));
    if (query.outcome !== undefined) (clauses.push('outcome = ?'), values.push(query.outcome));
    if (query.since !== undefined) (clauses.push('at >= ?'), values.push(ms(query.since)));
    if (query.until !== undefined) (clauses.push('at < ?'), values.push(ms(query.until)));
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    // Filters vary per call, so these statements are prepared per call (audit reads are rare).
    const total = this.db.prepare(`SELECT count(*) FROM audit ${where}`).pluck().get(...values) as number;
    const rows = this.db
      .prepare(`SELECT * FROM audit ${where} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...values, query.size, query.from) as AuditRow[];
    return { total, records: rows.map(toAudit) };
  }

  async getSetting(key: string): Promise<string | null> {
    return (this.statements.getSetting.get(key) as string | undefined) ?? null;
  }

  async initSetting(key: string, value: string): Promise<string> {
    return this.db
      .transaction(() => {
        this.statements.initSetting.run(key, value);
        return this.statements.getSetting.get(key) as string;
      })
      .immediate();
  }

  async backupTo(file: string): Promise<void> {
    // Runs in steps between other statements; changes made through this connection meanwhile are
    // carried into the copy, so it is the database as of the moment the backup completes.
    await this.db.backup(file);
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
