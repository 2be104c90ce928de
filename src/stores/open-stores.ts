// Picks the store implementations from the configuration: the embedded pair (SQLite + local disk
// under the data dir) by default, PostgreSQL and/or S3 when configured, for running several
// instances against shared storage.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { BlobStore } from './blob-store.js';
import type { MetadataStore } from './metadata-store.js';
import { openFsBlobStore } from './fs/fs-blob-store.js';
import type { PostgresMetadataStoreOptions } from './postgres/postgres-metadata-store.js';
import type { S3BlobStoreOptions } from './s3/s3-blob-store.js';
import { openSqliteMetadataStore } from './sqlite/sqlite-metadata-store.js';

export interface StoreOptions {
  dataDir: string;
  /** PostgreSQL URL; null/undefined means SQLite at <dataDir>/extrepo.sqlite3. */
  databaseUrl?: string | null;
  /** More PostgreSQL settings (pool size, timeouts, TLS), used with databaseUrl. */
  postgres?: Omit<PostgresMetadataStoreOptions, 'url'>;
  /** S3 settings; null/undefined means local disk at <dataDir>/blobs. */
  s3?: S3BlobStoreOptions | null;
}

export interface Stores {
  metadata: MetadataStore;
  blobs: BlobStore;
}

// The scale-out stores are imported only when configured: pg and the AWS SDK are a quarter of an
// embedded server's idle memory (RSS 100 → 77 MiB without them; docs/benchmarks.md).
export async function openStores(options: StoreOptions): Promise<Stores> {
  const metadata = options.databaseUrl
    ? await (await import('./postgres/postgres-metadata-store.js')).openPostgresMetadataStore({ ...options.postgres, url: options.databaseUrl })
    : await openSqliteMetadataStore(path.join(options.dataDir, 'extrepo.sqlite3'));
  try {
    const blobs = options.s3
      ? await (await import('./s3/s3-blob-store.js')).openS3BlobStore(options.s3)
      : await openFsBlobStore(path.join(options.dataDir, 'blobs'));
    return { metadata, blobs };
  } catch (error) {
    await metadata.close().catch(() => undefined);
    throw error;
  }
}

/** True when both stores are the embedded, single-process ones (SQLite + local disk). */
export function isEmbedded(options: StoreOptions): boolean {
  return !options.databaseUrl && !options.s3;
}

/** The store options of a loaded configuration (reads the TLS CA file, if one is configured). */
export async function storeOptionsFromConfig(config: Config): Promise<StoreOptions> {
  const options: StoreOptions = { dataDir: config.dataDir };
  const db = config.database;
  if (db !== null) {
    options.databaseUrl = db.url;
    options.postgres = {
      poolSize: db.poolSize,
      statementTimeoutMs: db.statementTimeoutMs,
      // 'disable' leaves TLS to the URL (e.g. ?sslmode=require).
      ...(db.ssl === 'disable'
        ? {}
        : {
            ssl:
              db.ssl === 'require'
                ? { rejectUnauthorized: false }
                : { rejectUnauthorized: true, ...(db.sslCaFile ? { ca: await readFile(db.sslCaFile, 'utf8') } : {}) },
          }),
    };
  }
  const s3 = config.s3;
  if (s3 !== null) {
    options.s3 = {
      bucket: s3.bucket,
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      prefix: s3.prefix,
      ...(s3.endpoint !== null ? { endpoint: s3.endpoint } : {}),
    };
  }
  return options;
}
