// What a backup directory holds. It is laid out like a data dir, so it can also be inspected with
// sqlite3 and the usual tools:
//
//   <dir>/extrepo.sqlite3   the metadata database, a consistent copy (SQLite's backup API)
//   <dir>/blobs/sha256/…    every file that copy references, each verified against its sha256
//   <dir>/backup.json       written last: its presence says the backup is complete
//
// Both hold secrets (password hashes, the link and token secrets): directories are created 0700.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';

export const DATABASE_FILE = 'extrepo.sqlite3';
export const BLOBS_DIR = 'blobs';
export const MANIFEST_FILE = 'backup.json';
export const MANIFEST_FORMAT = 1;

export interface BackupManifest {
  format: number;
  extrepoVersion: string;
  createdAt: string;
  schemaVersion: number;
  /** Rows per table of the database copy. */
  rows: Record<string, number>;
  blobs: number;
  blobBytes: number;
}

/** What a database file holds: rows per table, schema version, and every referenced blob with its size. */
export interface DatabaseContents {
  schemaVersion: number;
  rows: Record<string, number>;
  blobs: Array<{ sha256: string; size: number }>;
}

/** Reads a database copy (not one in use: the server's own database is opened exclusively). */
export function readDatabaseContents(file: string): DatabaseContents {
  const db = new Database(file, { fileMustExist: true });
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the database ${file} is damaged (SQLite quick_check: ${String(check)})`);
    const tables = db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      .pluck()
      .all() as string[];
    const rows: Record<string, number> = {};
    for (const table of tables) rows[table] = db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;
    const schemaVersion = tables.includes('schema_migrations')
      ? ((db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0)
      : 0;
    const blobs = db
      .prepare('SELECT DISTINCT file_sha256 AS sha256, file_size AS size FROM extensions WHERE file_sha256 IS NOT NULL ORDER BY 1')
      .all() as Array<{ sha256: string; size: number }>;
    return { schemaVersion, rows, blobs };
  } finally {
    db.close();
  }
}

/** True if `dir` does not exist or has no entries. */
export async function isMissingOrEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

export function inDir(dir: string, name: string): string {
  return path.join(dir, name);
}
