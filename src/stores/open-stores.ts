// Picks the store implementations from the configuration: the embedded pair (SQLite + local disk
// under the data dir) by default, PostgreSQL and/or S3 when configured, for running several
// instances against shared storage.
import path from 'node:path';
import type { BlobStore } from './blob-store.js';
import type { MetadataStore } from './metadata-store.js';
import { openFsBlobStore } from './fs/fs-blob-store.js';
import { openPostgresMetadataStore, type PostgresMetadataStoreOptions } from './postgres/postgres-metadata-store.js';
import { openS3BlobStore, type S3BlobStoreOptions } from './s3/s3-blob-store.js';
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

export async function openStores(options: StoreOptions): Promise<Stores> {
  const metadata = options.databaseUrl
    ? await openPostgresMetadataStore({ ...options.postgres, url: options.databaseUrl })
    : await openSqliteMetadataStore(path.join(options.dataDir, 'extrepo.sqlite3'));
  try {
    const blobs = options.s3 ? await openS3BlobStore(options.s3) : await openFsBlobStore(path.join(options.dataDir, 'blobs'));
    return { metadata, blobs };
  } catch (error) {
    await metadata.close().catch(() => undefined);
    throw error;
  }
}
