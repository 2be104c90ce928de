// One garbage collection over the configured stores, then exit: for a cron job, or after an
// incident. It reads the same environment as the server (src/config.ts) and removes leftovers of
// uploads older than EXTREPO_GC_GRACE_SECONDS and every blob nothing references. Safe while
// instances are running (see src/domain/garbage-collector.ts).
//
//   npm run gc                                # with the server's environment
//   EXTREPO_GC_GRACE_SECONDS=0 npm run gc     # only when no instance is uploading
import { ConfigError, loadConfig } from '../config.js';
import { collectGarbage } from '../domain/garbage-collector.js';
import { openStores, storeOptionsFromConfig } from '../stores/open-stores.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`extrepo gc: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
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
}

main().catch((error: unknown) => {
  process.stderr.write(`extrepo gc: failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
