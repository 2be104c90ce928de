// Schema of the SQLite metadata store, as an append-only list of migrations. A database remembers
// which ones it has applied (schema_migrations); opening applies the missing ones in order, and a
// database written by a newer extrepo (a version this code does not know) is refused rather than
// guessed at. Never edit a released migration: add a new one.
import type Database from 'better-sqlite3';
import { latestVersion, refuseNewerSchema, type Migration } from '../sql/migrations.js';

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
    // File versions (issue 13): every file an extension had, numbered per extension. The
    // extension's file_* columns stay the current file (the ECE view reads only them); exactly one
    // version per extension is current. An extension's existing file becomes its version 1: how it
    // came in is inferred from download_url, and who sent it and its plugin descriptor are unknown.
    version: 3,
    sql: `
      CREATE TABLE file_versions (
        extension_id TEXT NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
        version INTEGER NOT NULL CHECK (version > 0),
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT,
        source_kind TEXT NOT NULL CHECK (source_kind IN ('upload', 'download_url')),
        source_form TEXT CHECK (source_form IN ('raw', 'multipart')),
        source_url TEXT,
        plugin_name TEXT,
        plugin_version TEXT,
        plugin_classname TEXT,
        plugin_elasticsearch_version TEXT,
        current INTEGER NOT NULL CHECK (current IN (0, 1)),
        PRIMARY KEY (extension_id, version)
      ) STRICT;
      CREATE INDEX file_versions_by_sha256 ON file_versions (sha256);
      CREATE UNIQUE INDEX file_versions_current ON file_versions (extension_id) WHERE current = 1;
      INSERT INTO file_versions (extension_id, version, sha256, size, created_at, created_by, source_kind, source_url, current)
        SELECT id, 1, file_sha256, file_size, file_uploaded_at, NULL,
          CASE WHEN download_url IS NULL THEN 'upload' ELSE 'download_url' END, download_url, 1
        FROM extensions WHERE file_sha256 IS NOT NULL;
    `,
  },
  {
    // Deployments (issue 12): the registry of deployments, their plan history, and the extensions
    // their current plans reference. The foreign key to extensions is the last line of defence
    // of "an extension in use cannot be deleted" (the stores check it first, for the message).
    version: 4,
    sql: `
      CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        alias TEXT,
        owner_id TEXT,
        request_id TEXT,
        tags TEXT NOT NULL,
        elasticsearch TEXT,
        shutdown_at INTEGER,
        install_salt TEXT NOT NULL,
        resource_version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        modified_at INTEGER NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX deployments_by_request ON deployments (coalesce(owner_id, ''), request_id) WHERE request_id IS NOT NULL;
      CREATE INDEX deployments_by_created ON deployments (created_at, id);
      CREATE INDEX deployments_by_owner ON deployments (owner_id, created_at, id);

      CREATE TABLE deployment_plan_history (
        deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        elasticsearch TEXT NOT NULL,
        ended_at INTEGER NOT NULL,
        PRIMARY KEY (deployment_id, seq)
      ) STRICT;

      CREATE TABLE deployment_extensions (
        deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
        extension_id TEXT NOT NULL REFERENCES extensions (id),
        PRIMARY KEY (deployment_id, extension_id)
      ) STRICT;
      CREATE INDEX deployment_extensions_by_extension ON deployment_extensions (extension_id, deployment_id);
    `,
  },
  {
    // The console's extensions table (browseExtensions): its default order, by name, read in index
    // order a page at a time, for everyone and for one owner. Other sort keys sort the matches.
    version: 5,
    sql: `
      CREATE INDEX extensions_by_name ON extensions (name, id);
      CREATE INDEX extensions_by_owner_name ON extensions (owner_id, name, id);
    `,
  },
  {
    // Garbage collection in proportion to what changed (src/stores/gc-state-store.ts): blobs that may
    // have lost their last reference, and the resumable full sweep's cursor. No sweep has finished
    // yet, so the first collection after this migration lists every blob once.
    version: 6,
    sql: `
      CREATE TABLE gc_candidates (
        sha256 TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE gc_sweep (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        start_after TEXT,
        started_at INTEGER,
        finished_at INTEGER,
        revision INTEGER NOT NULL
      ) STRICT;
      INSERT INTO gc_sweep (id, revision) VALUES (1, 0);
    `,
  },
];

export const LATEST_SCHEMA_VERSION = latestVersion(MIGRATIONS);

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
    refuseNewerSchema(where, current, LATEST_SCHEMA_VERSION, 'written');
    const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, Date.now());
    }
  }).immediate();
}
