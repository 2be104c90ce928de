// The embedded metadata store: one SQLite file next to the blobs. better-sqlite3 is synchronous, so
// every statement runs to completion on the calling tick; that makes each method (and each
// transaction) atomic within this process, and SQLite's own file locking keeps other processes
// (e.g. an admin tool opening the same file) consistent. Methods are async only to fit the contract.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  IdCollisionError,
  NotFoundError,
  VersionConflictError,
  type ApiKeyRecord,
  type ChangeResult,
  type ExtensionChanges,
  type ExtensionRecord,
  type ExtensionType,
  type ListOptions,
  type MetadataStore,
  type NewExtension,
} from '../metadata-store.js';
import { KeyedMutex } from './keyed-mutex.js';
import { migrate } from './migrations.js';

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
}

const EXTENSION_COLUMNS = `id, name, version, extension_type, description, download_url, file_sha256, file_size,
  file_uploaded_at, owner_id, resource_version, created_at, modified_at`;

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

/** A row of EXTENSION_COLUMNS in raw (array) mode, in that order. */
type ExtensionTuple = [
  id: string,
  name: string,
  version: string,
  extensionType: string,
  description: string | null,
  downloadUrl: string | null,
  fileSha256: string | null,
  fileSize: number | null,
  fileUploadedAt: number | null,
  ownerId: string | null,
  resourceVersion: number,
  createdAt: number,
  modifiedAt: number,
];

// Listing maps arrays, not objects: with 100,000 rows, building one keyed object per row in
// better-sqlite3 and then another here costs about twice as much as indexing an array.
function tupleToRecord(row: ExtensionTuple): ExtensionRecord {
  const sha256 = row[6];
  return {
    id: row[0],
    name: row[1],
    version: row[2],
    extensionType: row[3] as ExtensionType,
    description: row[4],
    downloadUrl: row[5],
    file: sha256 === null ? null : { sha256, size: row[7] as number, uploadedAt: new Date(row[8] as number) },
    ownerId: row[9],
    resourceVersion: row[10],
    createdAt: new Date(row[11]),
    modifiedAt: new Date(row[12]),
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
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteMetadataStore(db);
}

class SqliteMetadataStore implements MetadataStore {
  private readonly blobLocks = new KeyedMutex();
  // Prepared once: statement preparation dominates the cost of small queries.
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      insertExtension: db.prepare(`INSERT INTO extensions (${EXTENSION_COLUMNS})
        VALUES (@id, @name, @version, @extension_type, @description, @download_url, @file_sha256, @file_size,
          @file_uploaded_at, @owner_id, @resource_version, @created_at, @modified_at)`),
      getExtension: db.prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE id = ?`),
      listAll: db.prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions ORDER BY created_at, id`).raw(),
      listByOwner: db
        .prepare(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE owner_id = ? ORDER BY created_at, id`)
        .raw(),
      updateExtension: db.prepare(`UPDATE extensions SET name = @name, version = @version, description = @description,
          download_url = @download_url, file_sha256 = @file_sha256, file_size = @file_size,
          file_uploaded_at = @file_uploaded_at, resource_version = @resource_version, modified_at = @modified_at
        WHERE id = @id`),
      deleteExtension: db.prepare('DELETE FROM extensions WHERE id = ?'),
      countReferences: db.prepare('SELECT count(*) FROM extensions WHERE file_sha256 = ?').pluck(),
      referencedBlobs: db
        .prepare('SELECT DISTINCT file_sha256 FROM extensions WHERE file_sha256 IS NOT NULL')
        .pluck(),
      insertApiKey: db.prepare(`INSERT INTO api_keys (id, secret_hash, user_id, description, created_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?)`),
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
    try {
      this.statements.insertExtension.run(row);
    } catch (error) {
      if (isPrimaryKeyViolation(error)) throw new IdCollisionError(`extension ${extension.id} already exists`);
      throw error;
    }
    return toRecord(row);
  }

  async getExtension(id: string): Promise<ExtensionRecord | null> {
    const row = this.statements.getExtension.get(id) as ExtensionRow | undefined;
    return row ? toRecord(row) : null;
  }

  async listExtensions(options: ListOptions = {}): Promise<ExtensionRecord[]> {
    const rows = (
      options.ownerId === undefined
        ? this.statements.listAll.all()
        : this.statements.listByOwner.all(options.ownerId)
    ) as ExtensionTuple[];
    return rows.map(tupleToRecord);
  }

  async updateExtension(id: string, changes: ExtensionChanges, expectedVersion?: number): Promise<ChangeResult> {
    const modifiedAt = ms(changes.now);
    const fileUploadedAt = changes.file ? ms(changes.file.uploadedAt) : null;
    // One IMMEDIATE transaction: the version check, the write and the reference count see the
    // same state, even if another process writes the same file.
    return this.db
      .transaction((): ChangeResult => {
        const current = this.readForChange(id, expectedVersion);
        const next: ExtensionRow = {
          ...current,
          name: changes.name,
          version: changes.version,
          description: changes.description,
          download_url: changes.downloadUrl,
          resource_version: current.resource_version + 1,
          modified_at: modifiedAt,
        };
        if (changes.file) {
          next.file_sha256 = changes.file.sha256;
          next.file_size = changes.file.size;
          next.file_uploaded_at = fileUploadedAt;
        }
        this.statements.updateExtension.run(next);
        return { record: toRecord(next), orphanedBlob: this.orphanAfterChange(current.file_sha256, next.file_sha256) };
      })
      .immediate();
  }

  async deleteExtension(id: string, expectedVersion?: number): Promise<ChangeResult> {
    return this.db
      .transaction((): ChangeResult => {
        const current = this.readForChange(id, expectedVersion);
        this.statements.deleteExtension.run(id);
        return { record: toRecord(current), orphanedBlob: this.orphanAfterChange(current.file_sha256, null) };
      })
      .immediate();
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

  /** The previous blob, if the change dropped it and nothing references it any more. */
  private orphanAfterChange(previous: string | null, next: string | null): string | null {
    if (previous === null || previous === next) return null;
    const remaining = this.statements.countReferences.get(previous) as number;
    return remaining === 0 ? previous : null;
  }

  async countBlobReferences(sha256: string): Promise<number> {
    return this.statements.countReferences.get(sha256) as number;
  }

  async listReferencedBlobs(): Promise<Set<string>> {
    return new Set(this.statements.referencedBlobs.all() as string[]);
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

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
