// The running server's side of `npm run backup` on the embedded store: blob deletions go through a
// hold the backup can take, and the control socket in the data dir takes the requests. On shared
// stores (PostgreSQL, S3) nothing changes: they are backed up with their own tools.
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { Stores } from '../stores/open-stores.js';
import { startControlSocket, type ControlSocket } from './control-socket.js';
import { BlobDeletionHold } from './deletion-hold.js';

export interface ServerBackups {
  /** The stores for the server to use (blob deletions held during backups). */
  stores: Stores;
  /** Opens the control socket (once the server listens). */
  listen(log: FastifyBaseLogger): Promise<void>;
  close(): Promise<void>;
}

export function startEmbeddedBackups(config: Config, stores: Stores): ServerBackups {
  if (config.database !== null || config.s3 !== null || stores.metadata.backupTo === undefined) {
    return { stores, listen: async () => undefined, close: async () => undefined };
  }
  const hold = new BlobDeletionHold(stores.metadata, stores.blobs);
  let socket: ControlSocket | null = null;
  return {
    stores: { metadata: stores.metadata, blobs: hold },
    async listen(log) {
      socket = await startControlSocket({
        dataDir: config.dataDir,
        source: { metadata: stores.metadata, blobs: stores.blobs, hold },
        onBackup: ({ dir, manifest, error }) => {
          if (error === undefined) log.info({ dir, blobs: manifest?.blobs, blobBytes: manifest?.blobBytes, rows: manifest?.rows }, 'backup made');
          else log.error({ dir, err: error }, 'backup failed');
        },
      });
      if (socket === null)
        log.warn(
          { dataDir: config.dataDir },
          'the data dir path is too long for a control socket: npm run backup works only while the server is stopped',
        );
    },
    async close() {
      await socket?.close();
    },
  };
}
