// Runs the server: configuration, stores, start-up housekeeping, listening and graceful shutdown.
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { collectGarbage, scheduleGarbageCollection } from './domain/garbage-collector.js';
import { tuneHeap } from './heap-tuning.js';
import { isEmbedded, openStores, storeOptionsFromConfig } from './stores/open-stores.js';
import { startEmbeddedBackups } from './backup/server-backups.js';
import { jsonLogLine } from './log-options.js';
import { routeProcessWarnings } from './process-warnings.js';
import { listeningLogFields } from './listening-log.js';

async function main(): Promise<void> {
  const warnings = routeProcessWarnings();
  tuneHeap();
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`extrepo: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const storeOptions = await storeOptionsFromConfig(config);
  // Connection losses are survived (the pool reconnects) but must not go unseen: report them on
  // stderr as a JSON line like the logs, since the logger only exists once the app is built.
  if (storeOptions.databaseUrl) {
    storeOptions.postgres = {
      ...storeOptions.postgres,
      onError: (error) =>
        process.stderr.write(jsonLogLine(40, 'database connection lost', { err: error.message })),
    };
  }
  const stores = await openStores(storeOptions);
  // On the embedded store, `npm run backup` asks this server for a backup (src/backup/server-backups.ts).
  const backups = startEmbeddedBackups(config, stores);
  const { metadata: store, blobs } = backups.stores;
  // One process owns the embedded stores, so anything left half-written is a crash leftover. Shared
  // stores may hold uploads other instances are writing right now: only leftovers older than the
  // grace period go, at start and then periodically (every instance may collect; see garbage-collector.ts).
  const embedded = isEmbedded(storeOptions);
  const graceMs = embedded ? 0 : config.gcGraceSeconds * 1000;
  const { swept, collected } = await collectGarbage(store, blobs, graceMs);

  const app = await buildApp({ config, store, blobs });
  const log = app.fastify.log;
  warnings.useLogger(log);
  if (swept > 0 || collected > 0) log.info({ swept, collected }, 'removed leftovers of an earlier run');
  const gc = scheduleGarbageCollection(store, blobs, {
    intervalMs: config.gcIntervalSeconds * 1000,
    graceMs: config.gcGraceSeconds * 1000,
    onResult: (result) => {
      if (result.swept > 0 || result.collected > 0 || result.expiredSessions > 0) log.info(result, 'garbage collected');
    },
    onError: (error) => log.warn({ err: error }, 'garbage collection failed; retrying at the next interval'),
  });

  if (app.generatedAdminPassword !== null) {
    // Printed once, on the first start only: the password is stored hashed and cannot be shown again.
    process.stdout.write(
      `\nextrepo: created the built-in user "admin" (ece_platform_admin) with this password, shown only this once:\n\n` +
        `  ${app.generatedAdminPassword}\n\n` +
        `Log in with: curl -X POST -H 'Content-Type: application/json' -d '{"username":"admin","password":"…"}' ` +
        `http://${config.host}:${config.port}/api/v1/users/auth/_login\n` +
        `Set EXTREPO_ADMIN_PASSWORD before the first start to choose the password instead.\n\n`,
    );
  }

  const address = await app.fastify.listen({ host: config.host, port: config.port });
  app.setListeningAddress(address);
  log.info(listeningLogFields(config, address), 'server listening');
  await backups.listen(log);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: no new connections, finishing requests in flight');
    const force = setTimeout(() => {
      log.warn('requests still in flight after the grace period; closing them');
      app.fastify.server.closeAllConnections();
    }, config.shutdownGraceMs);
    force.unref();
    try {
      await app.fastify.close();
      await backups.close();
      await gc.stop();
    } finally {
      clearTimeout(force);
      await Promise.allSettled([store.close(), blobs.close()]);
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`extrepo: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
