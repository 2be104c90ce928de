// Moves an embedded installation (SQLite + blob files in a data dir) to the scale-out stores
// (PostgreSQL + S3-compatible storage), or to any other store pair that src/config.ts can describe.
//
//   npm run migrate -- --from-data-dir ./data \
//     --to-database-url postgres://extrepo@db/extrepo --to-s3-bucket extrepo [--to-s3-endpoint …]
//     [--to-s3-region …] [--to-s3-force-path-style] [--to-s3-prefix …]
//
// Target settings not given as options come from the usual environment (EXTREPO_DATABASE_URL,
// EXTREPO_S3_*, EXTREPO_DATABASE_SSL, …); S3 credentials from the AWS SDK's standard chain.
//
// 1. Blobs first, each streamed from disk to the target while its sha256 is recomputed; a blob is
//    committed only if its bytes match its name. Blobs already in the target (same size) are skipped.
// 2. Every blob an extension's file or a kept file version (the history, issue 13) points at is
//    then checked to be in the target with the size the metadata records; a missing one stops the
//    migration before any metadata is copied.
// 3. Then every metadata table the source database has (extensions, API keys, settings, and any
//    table later versions add, e.g. users and audit records), row by row, converting SQLite's
//    values (epoch-ms times, 0/1 booleans) to the target column's type. Rows whose key already
//    exists in the target are left alone, so running the command again is safe and copies nothing
//    twice. Both databases are first brought to this extrepo's schema version.
//
// Stop the extrepo instances before migrating; start them on the new settings afterwards.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ConfigError, loadConfig, type Config } from '../config.js';
import type { BlobStore } from '../stores/blob-store.js';
import { openStores, storeOptionsFromConfig, type Stores } from '../stores/open-stores.js';

export interface MigrationReport {
  blobs: { copied: number; skipped: number; bytesCopied: number };
  /** References (extension files and file versions) whose blob was found in the target with its size. */
  references: { checked: number };
  tables: Record<string, { rows: number; inserted: number }>;
}

export interface MigrateOptions {
  /** Data dir of the embedded installation (SQLite file and blobs/). */
  fromDataDir: string;
  /** Target configuration (needs a database URL; S3 is optional but expected). */
  to: Config;
  log?: (message: string) => void;
}

export async function migrateInstallation(options: MigrateOptions): Promise<MigrationReport> {
  const log = options.log ?? (() => undefined);
  if (options.to.database === null) throw new Error('the target needs a PostgreSQL database (--to-database-url)');
  const sqlitePath = path.join(options.fromDataDir, 'extrepo.sqlite3');
  if (!existsSync(sqlitePath)) throw new Error(`${sqlitePath} does not exist: is ${options.fromDataDir} an extrepo data dir?`);
  const source = await openStores({ dataDir: options.fromDataDir });
  // Opening brought the source schema up to date; close it again at once, since the embedded store
  // holds its file exclusively and the tables are read below through a connection of their own.
  await source.metadata.close();
  let target: Stores | undefined;
  try {
    target = await openStores(await storeOptionsFromConfig(options.to));
    const blobs = await copyBlobs(source.blobs, target.blobs, log);
    const references = await checkReferences(sqlitePath, target.blobs);
    // The stores are open, so both schemas are at this extrepo's version.
    const tables = await copyTables(sqlitePath, options.to, log);
    return { blobs, references, tables };
  } finally {
    await Promise.allSettled([source.metadata.close(), source.blobs.close(), target?.metadata.close(), target?.blobs.close()]);
  }
}

async function copyBlobs(from: BlobStore, to: BlobStore, log: (message: string) => void): Promise<MigrationReport['blobs']> {
  const result = { copied: 0, skipped: 0, bytesCopied: 0 };
  for await (const sha256 of from.list()) {
    const info = await from.stat(sha256);
    if (info === null) continue; // deleted meanwhile
    const existing = await to.stat(sha256);
    if (existing !== null && existing.size === info.size) {
      result.skipped += 1;
      continue;
    }
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const upload = await to.beginUpload();
    try {
      await pipeline(await from.open(sha256), tap, upload.writable);
      const actual = hash.digest('hex');
      if (actual !== sha256 || size !== info.size) {
        throw new Error(`blob ${sha256} on disk is corrupt: its bytes hash to ${actual} (${size} bytes); restore it from a backup`);
      }
      await upload.commit(sha256);
    } catch (error) {
      await upload.abort();
      throw error;
    }
    result.copied += 1;
    result.bytesCopied += size;
    log(`blob ${sha256} (${size} bytes) copied`);
  }
  return result;
}

/** Every blob the source's metadata points at must be in the target, with the recorded size. */
async function checkReferences(sqlitePath: string, to: BlobStore): Promise<MigrationReport['references']> {
  const sqlite = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  try {
    const references = sqlite
      .prepare(
        `SELECT 'extension ' || id AS what, file_sha256 AS sha256, file_size AS size FROM extensions WHERE file_sha256 IS NOT NULL
         UNION ALL
         SELECT 'file version ' || version || ' of extension ' || extension_id, sha256, size FROM file_versions`,
      )
      .iterate() as Iterable<{ what: string; sha256: string; size: number }>;
    let checked = 0;
    const seen = new Map<string, number | null>();
    for (const reference of references) {
      if (!seen.has(reference.sha256)) seen.set(reference.sha256, (await to.stat(reference.sha256))?.size ?? null);
      const size = seen.get(reference.sha256);
      if (size !== reference.size) {
        throw new Error(
          `${reference.what} points at blob ${reference.sha256} (${reference.size} bytes), which ` +
            (size === null || size === undefined ? 'is missing from the source data dir' : `has ${size} bytes`) +
            '; restore the blob from a backup before migrating',
        );
      }
      checked += 1;
    }
    return { checked };
  } finally {
    sqlite.close();
  }
}

interface ColumnInfo {
  name: string;
  type: string;
}

/**
 * Garbage collection's own state (candidates and the full sweep's cursor) describes the source's blob
 * store, not the repository: the target keeps its own, and its first full sweep (due, as none has
 * finished there) covers every copied blob. Copying it would also make a second run insert rows again.
 */
const NOT_MIGRATED = new Set(['gc_candidates', 'gc_sweep']);

async function copyTables(sqlitePath: string, to: Config, log: (message: string) => void): Promise<MigrationReport['tables']> {
  const sqlite = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  const storeOptions = await storeOptionsFromConfig(to);
  const client = new pg.Client({ connectionString: to.database!.url, ssl: storeOptions.postgres?.ssl });
  await client.connect();
  try {
    const tables = (
      sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`).all() as {
        name: string;
      }[]
    )
      .map((row) => row.name)
      .filter((table) => !NOT_MIGRATED.has(table));
    const targetColumns = await columnsOf(client);
    const missing = tables.filter((table) => !targetColumns.has(table));
    if (missing.length > 0) throw new Error(`the target database has no table ${missing.join(', ')}: is it migrated by the same extrepo version?`);
    const report: MigrationReport['tables'] = {};
    await client.query('BEGIN');
    try {
      for (const table of await dependencyOrder(client, tables)) {
        const columns = targetColumns.get(table)!;
        const sourceColumns = new Set((sqlite.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((c) => c.name));
        const stray = [...sourceColumns].filter((name) => !columns.some((column) => column.name === name));
        if (stray.length > 0) throw new Error(`the target table ${table} has no column ${stray.join(', ')}`);
        const copied = columns.filter((column) => sourceColumns.has(column.name));
        const names = copied.map((column) => `"${column.name}"`).join(', ');
        let rows = 0;
        let inserted = 0;
        let batch: unknown[][] = [];
        const flush = async () => {
          if (batch.length === 0) return;
          const values: unknown[] = [];
          const tuples = batch.map((row) => `(${row.map((value) => `$${values.push(value)}`).join(', ')})`);
          const result = await client.query(`INSERT INTO "${table}" (${names}) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`, values);
          inserted += result.rowCount ?? 0;
          batch = [];
        };
        for (const row of sqlite.prepare(`SELECT ${names} FROM "${table}"`).raw().iterate() as Iterable<unknown[]>) {
          batch.push(row.map((value, index) => convert(value, copied[index]!.type)));
          rows += 1;
          if (batch.length >= 200) await flush();
        }
        await flush();
        report[table] = { rows, inserted };
        log(`table ${table}: ${inserted} of ${rows} rows inserted (the others were there already)`);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return report;
  } finally {
    sqlite.close();
    await client.end();
  }
}

async function columnsOf(client: pg.Client): Promise<Map<string, ColumnInfo[]>> {
  const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
     WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const tables = new Map<string, ColumnInfo[]>();
  for (const row of rows) {
    const list = tables.get(row.table_name) ?? [];
    list.push({ name: row.column_name, type: row.data_type });
    tables.set(row.table_name, list);
  }
  return tables;
}

/** Tables ordered so that each comes after the tables its foreign keys point to. */
async function dependencyOrder(client: pg.Client, tables: string[]): Promise<string[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
     FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`,
  );
  const unquote = (name: string) => name.replace(/^"|"$/g, '');
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (table: string) => {
    if (ordered.includes(table) || visiting.has(table)) return;
    visiting.add(table);
    for (const edge of rows) {
      if (unquote(edge.child) === table && unquote(edge.parent) !== table && tables.includes(unquote(edge.parent))) visit(unquote(edge.parent));
    }
    ordered.push(table);
  };
  for (const table of [...tables].sort()) visit(table);
  return ordered;
}

/** A SQLite value as the target column's type wants it. */
function convert(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type.startsWith('timestamp') || type === 'date') {
    return typeof value === 'number' || typeof value === 'bigint' ? new Date(Number(value)) : new Date(String(value));
  }
  if (type === 'boolean') return typeof value === 'string' ? value === 'true' || value === '1' : Boolean(value);
  if (type === 'json' || type === 'jsonb') return typeof value === 'string' ? value : JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const USAGE = `Usage: npm run migrate -- --from-data-dir <dir> --to-database-url <postgres://…> --to-s3-bucket <bucket>
         [--to-s3-endpoint <url>] [--to-s3-region <region>] [--to-s3-force-path-style] [--to-s3-prefix <prefix>] [--quiet]

Copies an embedded installation (the SQLite database and the files in <dir>) to PostgreSQL and an
S3-compatible bucket: every file, verified against its sha256, then every row (extensions, users, API
keys, sessions, audit records, settings). What the target already has is skipped, so running it
again is safe. Target settings not given here come from the environment (EXTREPO_DATABASE_URL,
EXTREPO_S3_*, EXTREPO_DATABASE_SSL…); S3 credentials from the AWS SDK's standard chain.
Stop the extrepo server(s) first; start them on the new settings afterwards.

Prints what it did: one summary line on stderr (also with --quiet, which drops the per-item lines)
and the full report as one JSON line on stdout.

Exit status: 0 migrated, 1 failed, 2 wrong usage or configuration.
`;

/** One line that says what the migration did, in the terms an operator counts in. */
export function describeMigration(report: MigrationReport): string {
  const table = (name: string, label: string) => {
    const counts = report.tables[name] ?? { rows: 0, inserted: 0 };
    return `${label} ${counts.inserted} copied, ${counts.rows - counts.inserted} already there`;
  };
  return [
    table('extensions', 'extensions:'),
    table('users', 'users:'),
    table('api_keys', 'API keys:'),
    `files: ${report.blobs.copied} copied (${report.blobs.bytesCopied} bytes, sha256 verified), ${report.blobs.skipped} already there`,
  ].join('; ');
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const { values } = parseArgs({
    options: {
      'from-data-dir': { type: 'string' },
      'to-database-url': { type: 'string' },
      'to-s3-bucket': { type: 'string' },
      'to-s3-endpoint': { type: 'string' },
      'to-s3-region': { type: 'string' },
      'to-s3-force-path-style': { type: 'boolean' },
      'to-s3-prefix': { type: 'string' },
      quiet: { type: 'boolean' },
    },
  });
  const fromDataDir = values['from-data-dir'];
  if (!fromDataDir) {
    process.stderr.write(
      'extrepo migrate: --from-data-dir is required (the data dir of the SQLite installation); npm run migrate -- --help for the usage\n',
    );
    process.exit(2);
  }
  const overrides: Record<string, string> = {};
  if (values['to-database-url']) overrides.EXTREPO_DATABASE_URL = values['to-database-url'];
  if (values['to-s3-bucket']) overrides.EXTREPO_S3_BUCKET = values['to-s3-bucket'];
  if (values['to-s3-endpoint']) overrides.EXTREPO_S3_ENDPOINT = values['to-s3-endpoint'];
  if (values['to-s3-region']) overrides.EXTREPO_S3_REGION = values['to-s3-region'];
  if (values['to-s3-force-path-style']) overrides.EXTREPO_S3_FORCE_PATH_STYLE = 'true';
  if (values['to-s3-prefix']) overrides.EXTREPO_S3_PREFIX = values['to-s3-prefix'];
  let to: Config;
  try {
    to = loadConfig({ ...process.env, ...overrides });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`extrepo migrate: invalid target configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (to.database === null) {
    process.stderr.write('extrepo migrate: give the target database (--to-database-url or EXTREPO_DATABASE_URL)\n');
    process.exit(2);
  }
  const report = await migrateInstallation({
    fromDataDir: path.resolve(fromDataDir),
    to,
    log: values.quiet ? undefined : (message) => process.stderr.write(`${message}\n`),
  });
  process.stderr.write(`extrepo migrate: done. ${describeMigration(report)}\n`);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main().catch((error: unknown) => {
    process.stderr.write(`extrepo migrate: failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
