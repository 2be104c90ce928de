// Runs the server: configuration, stores, start-up housekeeping, listening and graceful shutdown.
import path from 'node:path';
import { buildApp } from './app.js';
import { bootstrapAdminKey } from './auth/api-keys.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { collectUnreferencedBlobs } from './domain/garbage-collector.js';
import { openFsBlobStore } from './stores/fs/fs-blob-store.js';
import { openSqliteMetadataStore } from './stores/sqlite/sqlite-metadata-store.js';

async function main(): Promise<void> {
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

  const store = await openSqliteMetadataStore(path.join(config.dataDir, 'extrepo.sqlite3'));
  const blobs = await openFsBlobStore(path.join(config.dataDir, 'blobs'));
  // One process owns the embedded stores, so anything left half-written is a crash leftover.
  const swept = await blobs.sweepIncomplete(0);
  const collected = await collectUnreferencedBlobs(store, blobs);

  const app = await buildApp({ config, store, blobs });
  const log = app.fastify.log;
  if (swept > 0 || collected > 0) log.info({ swept, collected }, 'removed leftovers of an earlier run');

  const generatedKey = await bootstrapAdminKey(store, config.adminApiKey, new Date());
  if (generatedKey !== null) {
    // Printed once, on the first start only: the key is stored hashed and cannot be shown again.
    process.stdout.write(
      `\nextrepo: created the admin API key (shown only this once; store it safely):\n\n  ${generatedKey}\n\n` +
        `Use it as: curl -H "Authorization: ApiKey ${generatedKey}" http://${config.host}:${config.port}/api/v1/deployments/extensions\n\n`,
    );
  }

  const address = await app.fastify.listen({ host: config.host, port: config.port });
  app.setListeningAddress(address);
  log.info({ address, dataDir: config.dataDir }, 'server listening');

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
