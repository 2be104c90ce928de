// The scale-out metadata store: PostgreSQL shared by every extrepo instance. Each rule of the
// contract is enforced by the database itself, so it holds across instances: the primary key
// makes ids unique, row locks (SELECT … FOR UPDATE) make version checks and writes atomic, and
// advisory locks serialize reference counting and blob locks.
import pg from 'pg';
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
import { KeyedMutex } from '../sqlite/keyed-mutex.js';
import { LOCK_NAMESPACE, blobLockKey, intKey } from './lock-keys.js';
import { migrate } from './migrations.js';

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

const EXTENSION_COLUMNS = `id, name, version, extension_type, description, download_url, file_sha256, file_size,
  file_uploaded_at, owner_id, resource_version, created_at, modified_at`;

/** timestamptz as epoch milliseconds: pg parses an integer several times faster than a date string. */
const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)::int8`;

/** What reads select (and writes return): EXTENSION_COLUMNS with times as epoch ms. */
const EXTENSION_OUTPUT = `id, name, version, extension_type, description, download_url, file_sha256, file_size,
  ${epochMs('file_uploaded_at')}, owner_id, resource_version, ${epochMs('created_at')}, ${epochMs('modified_at')}`;

/** A row of EXTENSION_OUTPUT as pg returns it in array mode (int8 arrives as a string). */
type ExtensionTuple = [
  id: string,
  name: string,
  version: string,
  extensionType: string,
  description: string | null,
  downloadUrl: string | null,
  fileSha256: string | null,
  fileSize: string | null,
  fileUploadedAt: string | null,
  ownerId: string | null,
  resourceVersion: number,
  createdAt: string,
  modifiedAt: string,
];

// Array rows: for long lists they skip building a keyed object per row in pg.
function toRecord(row: ExtensionTuple): ExtensionRecord {
  const sha256 = row[6];
  return {
    id: row[0],
    name: row[1],
    version: row[2],
    extensionType: row[3] as ExtensionType,
    description: row[4],
    downloadUrl: row[5],
    file: sha256 === null ? null : { sha256, size: Number(row[7]), uploadedAt: new Date(Number(row[8])) },
    ownerId: row[9],
    resourceVersion: row[10],
    createdAt: new Date(Number(row[11])),
    modifiedAt: new Date(Number(row[12])),
  };
}

interface ApiKeyRow {
  id: string;
  secret_hash: string;
  user_id: string;
  description: string;
  created_at: Date;
  expires_at: Date | null;
}

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
  return new PostgresMetadataStore(pool, lockPool);
}

type Queryable = pg.Pool | pg.PoolClient;

class PostgresMetadataStore implements MetadataStore {
  /** Same-hash waiters of this process queue here, rather than each holding a lock connection. */
  private readonly localBlobLocks = new KeyedMutex();

  constructor(
    private readonly pool: pg.Pool,
    private readonly lockPool: pg.Pool,
  ) {}

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
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
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async selectExtensions(db: Queryable, where: string, values: unknown[]): Promise<ExtensionRecord[]> {
    const result = await db.query<ExtensionTuple>({
      text: `SELECT ${EXTENSION_OUTPUT} FROM extensions ${where}`,
      values,
      rowMode: 'array',
    });
    return result.rows.map(toRecord);
  }

  async insertExtension(extension: NewExtension): Promise<ExtensionRecord> {
    try {
      const result = await this.pool.query<ExtensionTuple>({
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
      return toRecord(result.rows[0] as ExtensionTuple);
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
    return options.ownerId === undefined
      ? this.selectExtensions(this.pool, 'ORDER BY created_at, id', [])
      : this.selectExtensions(this.pool, 'WHERE owner_id = $1 ORDER BY created_at, id', [options.ownerId]);
  }

  async updateExtension(id: string, changes: ExtensionChanges, expectedVersion?: number): Promise<ChangeResult> {
    return this.transaction(async (client) => {
      const current = await this.lockForChange(client, id, expectedVersion);
      const file = changes.file ?? current.file;
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
      const record = toRecord(result.rows[0] as ExtensionTuple);
      const orphanedBlob = await this.orphanAfterChange(client, current.file?.sha256 ?? null, file?.sha256 ?? null);
      return { record, orphanedBlob };
    });
  }

  async deleteExtension(id: string, expectedVersion?: number): Promise<ChangeResult> {
    return this.transaction(async (client) => {
      const record = await this.lockForChange(client, id, expectedVersion);
      await client.query('DELETE FROM extensions WHERE id = $1', [id]);
      const orphanedBlob = await this.orphanAfterChange(client, record.file?.sha256 ?? null, null);
      return { record, orphanedBlob };
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
   * The previous blob, if this transaction's change dropped it and nothing references it any more.
   * Two transactions dropping the last two references at once would each still see the other's
   * reference, and neither would report the orphan; a per-hash transaction lock orders them, and
   * the count (a new statement, hence a fresh snapshot) then sees what the first committed.
   */
  private async orphanAfterChange(client: pg.PoolClient, previous: string | null, next: string | null): Promise<string | null> {
    if (previous === null || previous === next) return null;
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE.blobReferences, intKey(previous)]);
    const result = await client.query<{ n: string }>('SELECT count(*) AS n FROM extensions WHERE file_sha256 = $1', [
      previous,
    ]);
    return Number(result.rows[0]?.n) === 0 ? previous : null;
  }

  async countBlobReferences(sha256: string): Promise<number> {
    const result = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM extensions WHERE file_sha256 = $1', [
      sha256,
    ]);
    return Number(result.rows[0]?.n ?? 0);
  }

  async listReferencedBlobs(): Promise<Set<string>> {
    const result = await this.pool.query<[string]>({
      text: 'SELECT DISTINCT file_sha256 FROM extensions WHERE file_sha256 IS NOT NULL',
      rowMode: 'array',
    });
    return new Set(result.rows.map((row) => row[0]));
  }

  /**
   * A session-level advisory lock held on a dedicated connection for as long as fn runs: it
   * excludes every instance on this database, and dies with the session if this process does.
   */
  withBlobLock<T>(sha256: string, fn: () => Promise<T>): Promise<T> {
    const key = blobLockKey(sha256);
    return this.localBlobLocks.run(sha256, async () => {
      const client = await this.lockPool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [key]);
      } catch (error) {
        client.release(error as Error);
        throw error;
      }
      try {
        return await fn();
      } finally {
        try {
          await client.query('SELECT pg_advisory_unlock($1)', [key]);
          client.release();
        } catch (error) {
          // Destroying the connection ends the session, which releases the lock all the same.
          client.release(error as Error);
        }
      }
    });
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO api_keys (id, secret_hash, user_id, description, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [key.id, key.secretHash, key.userId, key.description, key.createdAt, key.expiresAt],
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new IdCollisionError(`API key ${key.id} already exists`);
      throw error;
    }
  }

  async findApiKey(id: string): Promise<ApiKeyRecord | null> {
    const result = await this.pool.query<ApiKeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]);
    const row = result.rows[0];
    if (!row) return null;
    return {
      id: row.id,
      secretHash: row.secret_hash,
      userId: row.user_id,
      description: row.description,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  async countApiKeys(): Promise<number> {
    const result = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM api_keys');
    return Number(result.rows[0]?.n ?? 0);
  }

  async getSetting(key: string): Promise<string | null> {
    const result = await this.pool.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return result.rows[0]?.value ?? null;
  }

  async initSetting(key: string, value: string): Promise<string> {
    // ON CONFLICT waits for a concurrent inserter to commit; the read that follows (a new
    // statement, so a new snapshot) then sees the winner's value.
    const inserted = await this.pool.query<{ value: string }>(
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
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.lockPool.end()]);
  }
}
