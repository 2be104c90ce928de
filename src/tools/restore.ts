// npm run restore -- <dir>: puts a backup made by `npm run backup` into EXTREPO_DATA_DIR, which must
// be new or empty; see src/backup/embedded-backup.ts.
import { restoreEmbedded } from '../backup/embedded-backup.js';
import { UsageError, loadToolConfig, resolveArgumentPath, runTool } from './tool-run.js';

const USAGE = `Usage: EXTREPO_DATA_DIR=<new or empty dir> npm run restore -- <backup dir>

Restores a backup made by \`npm run backup\` into EXTREPO_DATA_DIR (default ./data), which must not
exist or be empty: a data dir in use is never overwritten. The backup is checked first (database
integrity, row counts), every file is verified against its sha256 while it is copied, and the database
is put in place last. Then start the server on EXTREPO_DATA_DIR.

Exit status: 0 restored, 1 failed (nothing usable was written), 2 wrong usage or configuration.
`;

runTool('restore', USAGE, async (args) => {
  if (args.length !== 1 || args[0]!.startsWith('-')) throw new UsageError('give exactly one argument, the backup directory');
  const dir = resolveArgumentPath(args[0]!);
  const config = loadToolConfig();
  if (config.database !== null || config.s3 !== null) {
    throw new UsageError('restore writes the embedded store (SQLite + local files): unset EXTREPO_DATABASE_URL and EXTREPO_S3_BUCKET');
  }
  const manifest = await restoreEmbedded(dir, config.dataDir);
  process.stderr.write(
    `extrepo restore: EXTREPO_DATA_DIR=${config.dataDir}: ${manifest.rows.extensions ?? 0} extensions, ${manifest.rows.users ?? 0} users, ` +
      `${manifest.rows.api_keys ?? 0} API keys, ${manifest.blobs} files (${manifest.blobBytes} bytes, sha256 verified) from the backup of ${manifest.createdAt}\n`,
  );
  process.stdout.write(`${JSON.stringify(manifest)}\n`);
});
