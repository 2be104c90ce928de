// Schema of the SQLite metadata store, as an append-only list of migrations. A database remembers
// which ones it has applied (schema_migrations); opening applies the missing ones in order, and a
// database written by a newer extrepo (a version this code does not know) is refused rather than
// guessed at. Never edit a released migration: add a new one.
import type Database from 'better-sqlite3';

interface Migration {
  version: number;
  sql: string;
}

// Times are integer epoch milliseconds: exact to the millisecond, cheap to compare and index.
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE extensions (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        extension_type TEXT NOT NULL CHECK (extension_type IN ('plugin', 'bundle')),
        description TEXT,
        download_url TEXT,
        file_sha256 TEXT,
        file_size INTEGER,
        file_uploaded_at INTEGER,
        owner_id TEXT,
        resource_version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        modified_at INTEGER NOT NULL,
        -- a file is all three columns or none
        CHECK ((file_sha256 IS NULL) = (file_size IS NULL) AND (file_size IS NULL) = (file_uploaded_at IS NULL))
      ) STRICT;
      CREATE INDEX extensions_by_created ON extensions (created_at, id);
      CREATE INDEX extensions_by_owner ON extensions (owner_id, created_at, id);
      CREATE INDEX extensions_by_file ON extensions (file_sha256) WHERE file_sha256 IS NOT NULL;

      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        user_id TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER
      ) STRICT;

      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    // Users, roles on API keys, sessions behind bearer tokens, and the audit log.
    version: 2,
    sql: `
      ALTER TABLE api_keys ADD COLUMN roles TEXT;
      CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at, id);

      CREATE TABLE users (
        user_name TEXT PRIMARY KEY,
        full_name TEXT,
        email TEXT,
        roles TEXT NOT NULL,
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        builtin INTEGER NOT NULL CHECK (builtin IN (0, 1)),
        password_hash TEXT,
        created_at INTEGER NOT NULL,
        created_by TEXT,
        updated_at INTEGER NOT NULL,
        updated_by TEXT,
        last_login_at INTEGER
      ) STRICT;

      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX sessions_by_user ON sessions (user_id);
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        user_id TEXT,
        key_id TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
        status INTEGER NOT NULL,
        error_code TEXT,
        client_address TEXT,
        request_id TEXT
      ) STRICT;
      CREATE INDEX audit_by_at ON audit (at, id);
      CREATE INDEX audit_by_user ON audit (user_id, at, id);
      CREATE INDEX audit_by_action ON audit (action, at, id);
    `,
  },
  {
    // The console's extensions table (browseExtensions): its default order, by name, read in index
    // order a page at a time, for everyone and for one owner. Other sort keys sort the matches.
    version: 9,
    sql: `
      CREATE INDEX extensions_by_name ON extensions (name, id);
      CREATE INDEX extensions_by_owner_name ON extensions (owner_id, name, id);
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
}

/** Brings the database up to LATEST_SCHEMA_VERSION; throws SchemaTooNewError for a newer database. */
export function migrate(db: Database.Database, where: string): void {
  // IMMEDIATE takes the write lock up front, so two processes opening the same new file do not
  // both try to create the tables.
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      applied_at INTEGER NOT NULL
    ) STRICT`);
    const current = (db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
    if (current > LATEST_SCHEMA_VERSION) {
      throw new SchemaTooNewError(
        `${where} has schema version ${current}, but this extrepo only knows up to version ` +
          `${LATEST_SCHEMA_VERSION}: it was written by a newer extrepo. Run that version (or newer) instead.`,
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, Date.now());
    }
  }).immediate();
}
