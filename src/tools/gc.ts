// One garbage collection over the configured stores, then exit: for a cron job, or after an
// incident. It reads the same environment as the server (src/config.ts) and removes leftovers of
// uploads older than EXTREPO_GC_GRACE_SECONDS and every blob nothing references. Safe while
// instances are running (see src/domain/garbage-collector.ts).
import { collectGarbage } from '../domain/garbage-collector.js';
import { openStores, storeOptionsFromConfig } from '../stores/open-stores.js';
import { UsageError, loadToolConfig, requireExistingDatabase, runTool } from './tool-run.js';

const USAGE = `Usage: npm run gc

Runs one garbage collection over the stores the server's environment names (EXTREPO_DATA_DIR, or
EXTREPO_DATABASE_URL and EXTREPO_S3_*), then exits, printing what it removed as one JSON line:
leftovers of uploads older than EXTREPO_GC_GRACE_SECONDS (default 86400), files no extension
references (it lists every file: a complete sweep at once, unlike the servers' regular collections),
and expired sign-in sessions. Safe while servers run on PostgreSQL + S3.

  npm run gc                                # with the server's environment
  EXTREPO_GC_GRACE_SECONDS=0 npm run gc     # only when no instance is uploading

The embedded store (SQLite) is held by its running server: stop it first, or let the server collect
(it does at start-up and every EXTREPO_GC_INTERVAL_SECONDS).

Exit status: 0 collected, 1 failed, 2 wrong usage or configuration (e.g. EXTREPO_DATA_DIR has no database).
`;

runTool('gc', USAGE, async (args) => {
  if (args.length > 0) throw new UsageError(`unexpected argument ${args[0]}: gc takes its settings from the environment`);
  const config = loadToolConfig();
  requireExistingDatabase(config);
  const { metadata, blobs } = await openStores(await storeOptionsFromConfig(config));
  try {
    // A collection over millions of blobs takes a while: show how far it got, every 10 s at most.
    let lastReport = Date.now();
    const result = await collectGarbage(metadata, blobs, config.gcGraceSeconds * 1000, new Date(), {
      onProgress: (progress) => {
        if (Date.now() - lastReport < 10_000) return;
        lastReport = Date.now();
        process.stderr.write(`${JSON.stringify({ msg: 'garbage collection in progress', ...progress })}\n`);
      },
    });
    process.stdout.write(`${JSON.stringify({ ...result, graceSeconds: config.gcGraceSeconds })}\n`);
  } finally {
    await Promise.allSettled([metadata.close(), blobs.close()]);
  }
});
