// Schema of the PostgreSQL metadata store, as an append-only list of migrations (same scheme as
// the SQLite store). Several extrepo instances may start at once against one database, so
// migrating happens under an advisory lock: the first migrates, the others wait and then find
// nothing left to do. A database migrated by a newer extrepo is refused.
import type pg from 'pg';
import { latestVersion, refuseNewerSchema, type Migration } from '../sql/migrations.js';
import { LOCK_NAMESPACE } from './lock-keys.js';

// ids are compared bytewise (COLLATE "C"), like SQLite, so list order does not depend on the
// database's locale. Times are timestamptz (microsecond precision; we store milliseconds).
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE extensions (
        id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        version text NOT NULL,
        extension_type text NOT NULL CHECK (extension_type IN ('plugin', 'bundle')),
        description text,
        download_url text,
        file_sha256 text,
        file_size bigint,
        file_uploaded_at timestamptz,
        owner_id text,
        resource_version integer NOT NULL,
        created_at timestamptz NOT NULL,
        modified_at timestamptz NOT NULL,
        CHECK ((file_sha256 IS NULL) = (file_size IS NULL) AND (file_size IS NULL) = (file_uploaded_at IS NULL))
      );
      CREATE INDEX extensions_by_created ON extensions (created_at, id);
      CREATE INDEX extensions_by_owner ON extensions (owner_id, created_at, id);
      CREATE INDEX extensions_by_file ON extensions (file_sha256) WHERE file_sha256 IS NOT NULL;

      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        secret_hash text NOT NULL,
        user_id text NOT NULL,
        description text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz
      );

      CREATE TABLE settings (
        key text PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    // Users, roles on API keys, sessions behind bearer tokens, and the audit log.
    version: 2,
    sql: `
      ALTER TABLE api_keys ADD COLUMN roles text;
      CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at, id);

      CREATE TABLE users (
        user_name text COLLATE "C" PRIMARY KEY,
        full_name text,
        email text,
        roles text NOT NULL,
        enabled boolean NOT NULL,
        builtin boolean NOT NULL,
        password_hash text,
        created_at timestamptz NOT NULL,
        created_by text,
        updated_at timestamptz NOT NULL,
        updated_by text,
        last_login_at timestamptz
      );

      CREATE TABLE sessions (
        id text PRIMARY KEY,
        user_id text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
      );
      CREATE INDEX sessions_by_user ON sessions (user_id);
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);

      CREATE TABLE audit (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        user_id text,
        key_id text,
        action text NOT NULL,
        target text,
        outcome text NOT NULL CHECK (outcome IN ('success', 'failure')),
        status integer NOT NULL,
        error_code text,
        client_address text,
        request_id text
      );
      CREATE INDEX audit_by_at ON audit (at, id);
      CREATE INDEX audit_by_user ON audit (user_id, at, id);
      CREATE INDEX audit_by_action ON audit (action, at, id);
    `,
  },
  {
    // File versions (issue 13), as in the SQLite store: every file an extension had, numbered per
    // extension; the extension's file_* columns stay the current file; existing files become version 1.
    version: 3,
    sql: `
      CREATE TABLE file_versions (
        extension_id text COLLATE "C" NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
        version integer NOT NULL CHECK (version > 0),
        sha256 text NOT NULL,
        size bigint NOT NULL,
        created_at timestamptz NOT NULL,
        created_by text,
        source_kind text NOT NULL CHECK (source_kind IN ('upload', 'download_url')),
        source_form text CHECK (source_form IN ('raw', 'multipart')),
        source_url text,
        plugin_name text,
        plugin_version text,
        plugin_classname text,
        plugin_elasticsearch_version text,
        current boolean NOT NULL,
        PRIMARY KEY (extension_id, version)
      );
      CREATE INDEX file_versions_by_sha256 ON file_versions (sha256);
      CREATE UNIQUE INDEX file_versions_current ON file_versions (extension_id) WHERE current;
      INSERT INTO file_versions (extension_id, version, sha256, size, created_at, created_by, source_kind, source_url, current)
        SELECT id, 1, file_sha256, file_size, file_uploaded_at, NULL,
          CASE WHEN download_url IS NULL THEN 'upload' ELSE 'download_url' END, download_url, true
        FROM extensions WHERE file_sha256 IS NOT NULL;
    `,
  },
  {
    // Deployments (issue 12): the registry of deployments, their plan history, and the extensions
    // their current plans reference. The foreign key to extensions is the last line of defence
    // of "an extension in use cannot be deleted" across instances (the store checks it first,
    // under the extension's row lock, for the message).
    version: 4,
    sql: `
      CREATE TABLE deployments (
        id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        alias text,
        owner_id text,
        request_id text,
        tags text NOT NULL,
        elasticsearch text,
        shutdown_at timestamptz,
        install_salt text NOT NULL,
        resource_version integer NOT NULL,
        created_at timestamptz NOT NULL,
        modified_at timestamptz NOT NULL
      );
      CREATE UNIQUE INDEX deployments_by_request ON deployments (coalesce(owner_id, ''), request_id) WHERE request_id IS NOT NULL;
      CREATE INDEX deployments_by_created ON deployments (created_at, id);
      CREATE INDEX deployments_by_owner ON deployments (owner_id, created_at, id);

      CREATE TABLE deployment_plan_history (
        deployment_id text COLLATE "C" NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        elasticsearch text NOT NULL,
        ended_at timestamptz NOT NULL,
        PRIMARY KEY (deployment_id, seq)
      );

      CREATE TABLE deployment_extensions (
        deployment_id text COLLATE "C" NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
        extension_id text COLLATE "C" NOT NULL REFERENCES extensions (id),
        PRIMARY KEY (deployment_id, extension_id)
      );
      CREATE INDEX deployment_extensions_by_extension ON deployment_extensions (extension_id, deployment_id);
    `,
  },
  {
    // The console's extensions table (browseExtensions): its default order, by name compared
    // bytewise like SQLite, read in index order a page at a time, for everyone and for one owner.
    version: 5,
    sql: `
      CREATE INDEX extensions_by_name ON extensions ((name COLLATE "C"), id);
      CREATE INDEX extensions_by_owner_name ON extensions (owner_id, (name COLLATE "C"), id);
    `,
  },
  {
    // Garbage collection in proportion to what changed (src/stores/gc-state-store.ts): blobs that may
    // have lost their last reference, and the resumable full sweep's cursor. No sweep has finished
    // yet, so the first collection after this migration lists every blob once.
    version: 6,
    sql: `
      CREATE TABLE gc_candidates (
        sha256 text PRIMARY KEY,
        generation bigint NOT NULL,
        recorded_at timestamptz NOT NULL
      );
      CREATE TABLE gc_sweep (
        id integer PRIMARY KEY CHECK (id = 1),
        start_after text,
        started_at timestamptz,
        finished_at timestamptz,
        revision bigint NOT NULL
      );
      INSERT INTO gc_sweep (id, revision) VALUES (1, 0);
    `,
  },
];

/** Every version this code knows, ascending (not necessarily contiguous: numbers are reserved per feature). */
export const MIGRATION_VERSIONS: readonly number[] = MIGRATIONS.map((m) => m.version);
export const LATEST_SCHEMA_VERSION = latestVersion(MIGRATIONS);

const MIGRATION_LOCK = [LOCK_NAMESPACE.migrations, 1];

/** Brings the database up to LATEST_SCHEMA_VERSION; throws SchemaTooNewError for a newer database. */
export async function migrate(client: pg.PoolClient | pg.Client, where: string): Promise<void> {
  // A session lock (not a transaction lock) so that it also covers the CREATE TABLE IF NOT EXISTS
  // below, which is not safe to run concurrently on its own.
  await client.query('SELECT pg_advisory_lock($1, $2)', MIGRATION_LOCK);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const result = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
    const current = result.rows[0]?.version ?? 0;
    refuseNewerSchema(where, current, LATEST_SCHEMA_VERSION, 'migrated');
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      // Each migration and its record commit together, or not at all.
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
  } finally {
    // If this fails the session is broken, and its end releases the lock anyway.
    await client.query('SELECT pg_advisory_unlock($1, $2)', MIGRATION_LOCK).catch(() => undefined);
  }
}
