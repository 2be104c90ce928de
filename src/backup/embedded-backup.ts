// Online backup and restore of the embedded store (SQLite + blob files in the data dir).
//
// Backup, consistent while the server keeps serving and writing: blob deletions are held
// (deletion-hold.ts); the database is copied with SQLite's backup API; then every blob the copy
// references is copied and verified. Blobs are content-addressed and never change, so whatever the
// copy references exists and is exactly those bytes: uploads made after the database copy are
// simply not in the backup, as if the backup had been taken a moment earlier.
//
// Restore, into an empty data dir only: the backup is checked first, blobs are copied (verified
// again), and the database comes last, under its final name only once complete, so a data dir
// without a database is the most an interrupted restore leaves.
import { chmod, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BlobStore } from '../stores/blob-store.js';
import { openFsBlobStore } from '../stores/fs/fs-blob-store.js';
import type { MetadataStore } from '../stores/metadata-store.js';
import { EXTREPO_VERSION } from '../version.js';
import {
  BLOBS_DIR,
  DATABASE_FILE,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  isMissingOrEmpty,
  readDatabaseContents,
  type BackupManifest,
} from './backup-layout.js';
import type { BlobDeletionHold } from './deletion-hold.js';
import { copyBlobVerified } from './verified-copy.js';

/** A refusal the operator can fix (a non-empty target, a missing backup); the message says how. */
export class BackupRefusedError extends Error {
  override name = 'BackupRefusedError';
}

export interface BackupSource {
  metadata: MetadataStore;
  blobs: BlobStore;
  /** The running server's hold on blob deletions; absent when nothing else uses the stores. */
  hold?: BlobDeletionHold;
}

export async function backupEmbedded(source: BackupSource, targetDir: string): Promise<BackupManifest> {
  const backupTo = source.metadata.backupTo?.bind(source.metadata);
  if (backupTo === undefined) throw new BackupRefusedError('only the embedded SQLite store can be backed up this way');
  const dir = path.resolve(targetDir);
  if (!(await isMissingOrEmpty(dir))) {
    throw new BackupRefusedError(`${dir} is not empty: back up into a new or empty directory`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const release = source.hold?.acquire();
  try {
    const partial = path.join(dir, `${DATABASE_FILE}.partial`);
    await backupTo(partial);
    await chmod(partial, 0o600);
    // The copy keeps the server's WAL mode; in rollback mode it is one self-contained file.
    const copy = new Database(partial);
    copy.pragma('journal_mode = DELETE');
    copy.close();
    const contents = readDatabaseContents(partial);
    const target = await openFsBlobStore(path.join(dir, BLOBS_DIR));
    let blobBytes = 0;
    for (const blob of contents.blobs) {
      await copyBlobVerified(source.blobs, target, blob.sha256, blob.size);
      blobBytes += blob.size;
    }
    await rm(path.join(dir, BLOBS_DIR, 'incoming'), { recursive: true, force: true });
    await rename(partial, path.join(dir, DATABASE_FILE));
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      extrepoVersion: EXTREPO_VERSION,
      createdAt: new Date().toISOString(),
      schemaVersion: contents.schemaVersion,
      rows: contents.rows,
      blobs: contents.blobs.length,
      blobBytes,
    };
    await writeDurably(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  } finally {
    await release?.();
  }
}

export async function restoreEmbedded(backupDir: string, dataDir: string): Promise<BackupManifest> {
  const from = path.resolve(backupDir);
  const to = path.resolve(dataDir);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(from, MANIFEST_FILE), 'utf8')) as BackupManifest;
  } catch {
    throw new BackupRefusedError(`${from} holds no complete extrepo backup (${MANIFEST_FILE} is missing or unreadable)`);
  }
  if (manifest.format !== MANIFEST_FORMAT) {
    throw new BackupRefusedError(`${from} is a backup in format ${manifest.format}, which this extrepo does not know`);
  }
  if (!(await isMissingOrEmpty(to))) {
    throw new BackupRefusedError(`EXTREPO_DATA_DIR=${to} is not empty: restore only into a new or empty directory (move the old one aside first)`);
  }
  const database = path.join(from, DATABASE_FILE);
  const contents = readDatabaseContents(database);
  for (const [table, rows] of Object.entries(manifest.rows)) {
    if (contents.rows[table] !== rows) {
      throw new BackupRefusedError(`the backup's database has ${contents.rows[table] ?? 0} rows in ${table} where ${MANIFEST_FILE} says ${rows}`);
    }
  }
  await mkdir(to, { recursive: true, mode: 0o700 });
  const source = await openFsBlobStore(path.join(from, BLOBS_DIR));
  const target = await openFsBlobStore(path.join(to, BLOBS_DIR));
  for (const blob of contents.blobs) await copyBlobVerified(source, target, blob.sha256, blob.size);
  // The backup dir stays as it was: openFsBlobStore made an empty incoming/ there.
  await rm(path.join(from, BLOBS_DIR, 'incoming'), { recursive: true, force: true });
  const partial = path.join(to, `${DATABASE_FILE}.partial`);
  const reader = new Database(database, { readonly: true, fileMustExist: true });
  try {
    await reader.backup(partial);
  } finally {
    reader.close();
  }
  await chmod(partial, 0o600);
  await syncFile(partial);
  await rename(partial, path.join(to, DATABASE_FILE));
  await syncFile(to);
  return manifest;
}

async function writeDurably(file: string, text: string): Promise<void> {
  const partial = `${file}.partial`;
  await writeFile(partial, text, { mode: 0o600 });
  await syncFile(partial);
  await rename(partial, file);
  await syncFile(path.dirname(file));
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
