// npm run backup -- <dir>: an online backup of the embedded store (SQLite + blob files) of
// EXTREPO_DATA_DIR into a new or empty directory; see src/backup/embedded-backup.ts.
import { backupEmbedded } from '../backup/embedded-backup.js';
import { ControlSocketUnavailable, requestBackup } from '../backup/control-socket.js';
import type { BackupManifest } from '../backup/backup-layout.js';
import { openStores, storeOptionsFromConfig } from '../stores/open-stores.js';
import { UsageError, loadToolConfig, requireExistingDatabase, resolveArgumentPath, runTool } from './tool-run.js';

const USAGE = `Usage: npm run backup -- <dir>

Backs up the embedded store of EXTREPO_DATA_DIR (default ./data): a consistent copy of the SQLite
database and every file it references, each verified against its sha256, into <dir>, which must be new
or empty. Safe while the server runs: the server makes the backup itself, through its control socket
(<data dir>/control.sock); without a running server, this command makes it directly.

Restore with: EXTREPO_DATA_DIR=<new empty dir> npm run restore -- <dir>
PostgreSQL + S3 installations are backed up with their own tools (see docs/deployment.md).

Exit status: 0 backed up, 1 failed, 2 wrong usage or configuration.
`;

runTool('backup', USAGE, async (args) => {
  if (args.length !== 1 || args[0]!.startsWith('-')) throw new UsageError('give exactly one argument, the backup directory');
  const dir = resolveArgumentPath(args[0]!);
  const config = loadToolConfig();
  if (config.database !== null || config.s3 !== null) {
    throw new UsageError(
      'backup covers the embedded store (SQLite + local files); back up PostgreSQL and S3 with their own tools (docs/deployment.md)',
    );
  }
  requireExistingDatabase(config);
  let manifest: BackupManifest;
  let how: string;
  try {
    manifest = await requestBackup(config.dataDir, dir);
    how = 'made by the running server';
  } catch (error) {
    if (!(error instanceof ControlSocketUnavailable)) throw error;
    // No server is running on this data dir: the database is free to open here.
    const stores = await openStores(await storeOptionsFromConfig(config));
    try {
      manifest = await backupEmbedded(stores, dir);
    } finally {
      await Promise.allSettled([stores.metadata.close(), stores.blobs.close()]);
    }
    how = 'made directly (no server was running)';
  }
  process.stderr.write(
    `extrepo backup: ${dir}: ${manifest.rows.extensions ?? 0} extensions, ${manifest.rows.users ?? 0} users, ` +
      `${manifest.rows.api_keys ?? 0} API keys, ${manifest.blobs} files (${manifest.blobBytes} bytes, sha256 verified); ${how}\n`,
  );
  process.stdout.write(`${JSON.stringify(manifest)}\n`);
});
