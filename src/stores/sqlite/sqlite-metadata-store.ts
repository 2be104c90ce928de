// The embedded metadata store: one SQLite file next to the blobs. better-sqlite3 is synchronous, so
// every statement runs to completion on the calling tick; that makes each method (and each
// transaction) atomic within this process, and SQLite's own file locking keeps other processes
// (e.g. an admin tool opening the same file) consistent. Methods are async only to fit the contract.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ExtensionInUseError, FileVersionNotFoundError } from '../metadata-store.js';
import type { BrowsePage, BrowseQuery, ChangeResult, ExtensionChanges, ExtensionRecord, ExtensionType, FileVersionPage } from '../metadata-store.js';
import type { FileVersionRecord, ListOptions, MetadataStore, NewExtension, NewFile } from '../metadata-store.js';
import { FILE_VERSION_COLUMNS, checkFileCondition, provenanceColumns, rowToFileVersion, type FileVersionRow } from '../sql/file-version-row.js';
import { browseStatement } from '../sql/browse-sql.js';
import { EXTENSION_COLUMNS, tupleToRecord, type ExtensionTuple } from '../sql/extension-tuple.js';
import { SqliteGcState } from './gc-state.js';
import { KeyedMutex } from '../keyed-mutex.js';
import { SqlAuthTables, type WriteEffects } from '../sql/auth-tables.js';
import { checkChangeable, orphanCandidates } from '../sql/change-rules.js';
import { rethrowCollision } from '../sql/dialect.js';
import { toReferencingDeployment } from '../sql/deployment-rows.js';
import { runStepsSync, type SqlRequest, type SqlSteps } from '../sql/steps.js';
import { migrate } from './migrations.js';
import { SQLITE_DIALECT, ms } from './sqlite-dialect.js';
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

class SqliteMetadataStore extends SqlAuthTables implements MetadataStore {
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
  /** The statements of the sequences written once in stores/sql/, by text. */
  private readonly stepStatements = new Map<string, Database.Statement>();
  // Prepared once: statement preparation dominates the cost of small queries.
  private readonly statements;
  readonly deployments: SqliteDeploymentStore;
  readonly gcState: SqliteGcState;

  constructor(private readonly db: Database.Database) {
    super(SQLITE_DIALECT);
    this.deployments = new SqliteDeploymentStore(db);
    this.gcState = new SqliteGcState(db);
    this.statements = {
      insertExtension: db.prepare(`INSERT INTO extensions (${EXTENSION_COLUMNS})
        VALUES (@id, @name, @version, @extension_type, @description, @download_url, @file_sha256, @file_size,
          @file_uploaded_at, @owner_id, @resource_version, @created_at, @modified_at)`),
      getExtension: db.prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE id = ?`),
      listAll: db.prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions ORDER BY created_at, id LIMIT ?`).raw(),
      listAllAfter: db.prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`).raw(),
      listByOwner: db.prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE owner_id = ? ORDER BY created_at, id LIMIT ?`).raw(),
      listByOwnerAfter: db
        .prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE owner_id = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`)
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
      nextFileVersion: db.prepare('SELECT coalesce(max(version), 0) + 1 FROM file_versions WHERE extension_id = ?').pluck(),
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
      listFileVersions: db.prepare(`SELECT ${FILE_VERSION_COLUMNS} FROM file_versions WHERE extension_id = ? ORDER BY version DESC LIMIT ? OFFSET ?`),
      getFileVersion: db.prepare(`SELECT ${FILE_VERSION_COLUMNS} FROM file_versions WHERE extension_id = ? AND version = ?`),
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
      rethrowCollision(SQLITE_DIALECT, error, `extension ${extension.id}`);
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

  peekExtension(id: string): ExtensionRecord | undefined {
    return this.recordCache.get(id);
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
    const statement = browseStatement(query, SQLITE_DIALECT);
    const rows = this.browseStatement(`SELECT ${EXTENSION_COLUMNS} FROM extensions ${statement.pageClause}`, true).all(
      ...statement.pageValues,
    ) as ExtensionTuple[];
    const total = this.browseStatement(`SELECT count(*) FROM extensions ${statement.filterClause}`, false)
      .pluck()
      .get(...statement.filterValues) as number;
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
        let pruned: string[] = [];
        if (changes.file) {
          next.file_sha256 = changes.file.sha256;
          next.file_size = changes.file.size;
          next.file_uploaded_at = fileUploadedAt;
          pruned = this.addFileVersion(id, changes.file, changes.keepFileVersions ?? 0);
        }
        this.statements.updateExtension.run(next);
        return { row: next, orphanedBlobs: this.orphansAmong(orphanCandidates(pruned, current.file_sha256)) };
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
        if (usedBy.length > 0) throw new ExtensionInUseError(usedBy.map(toReferencingDeployment));
        // The history goes with the extension (ON DELETE CASCADE); its blobs may be orphaned.
        const history = this.statements.fileVersionBlobs.all(id) as string[];
        this.statements.deleteExtension.run(id);
        return { record: toRecord(current), orphanedBlobs: this.orphansAmong(orphanCandidates(history, current.file_sha256)) };
      })
      .immediate();
    this.recordCache.delete(id);
    return result;
  }

  /** Reads the row a change applies to, enforcing existence and the optimistic version. */
  private readForChange(id: string, expectedVersion: number | undefined): ExtensionRow {
    const row = this.statements.getExtension.get(id) as ExtensionRow | undefined;
    return checkChangeable('extension', id, row, (found) => found.resource_version, expectedVersion);
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

  // SQLite is an embedded, single-server store: an in-process lock is exclusive across every
  // user of this store.
  withBlobLock<T>(sha256: string, fn: () => Promise<T>): Promise<T> {
    return this.blobLocks.run(sha256, fn);
  }

  watchAuthChanges(listener: () => void): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  protected runSteps<T>(steps: SqlSteps<T>, effects?: WriteEffects): Promise<T> {
    return this.settle(() => runStepsSync(steps, this.runRequest), effects);
  }

  protected runTransaction<T>(steps: SqlSteps<T>, effects?: WriteEffects): Promise<T> {
    return this.settle(() => this.db.transaction(() => runStepsSync(steps, this.runRequest)).immediate(), effects);
  }

  /** One statement of a sequence (sql/steps.ts), prepared the first time its text is seen. */
  private readonly runRequest = (request: SqlRequest): unknown => {
    let statement = this.stepStatements.get(request.text);
    if (statement === undefined) {
      statement = this.db.prepare(request.text);
      this.stepStatements.set(request.text, statement);
    }
    return request.kind === 'rows' ? statement.all(...request.values) : statement.run(...request.values).changes;
  };

  /**
   * Runs the work on this tick, then forgets what a write may have made stale (its effects), whether or
   * not it succeeded: a cache must never outlive what it caches. A change that can withdraw credentials (a key deleted, a user
   * disabled, a session revoked) tells the watchers; this process sees every change to the embedded
   * store, so the notice is exact. Both happen on the write's own tick, before any caller resumes.
   */
  private settle<T>(work: () => T, effects: WriteEffects = {}): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error as Error);
    } finally {
      // Reassigned extensions changed owner: forget cached rows.
      if (effects.owners) this.recordCache.clear();
      if (effects.auth) for (const listener of this.authListeners) listener();
    }
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
