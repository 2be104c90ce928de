// Runs the server: configuration, stores, start-up housekeeping, listening and graceful shutdown.
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startHousekeeping } from './domain/housekeeping.js';
import { tuneHeap } from './heap-tuning.js';
import { isEmbedded, openStores, storeOptionsFromConfig } from './stores/open-stores.js';

async function main(): Promise<void> {
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
        process.stderr.write(`${JSON.stringify({ level: 40, time: Date.now(), msg: 'database connection lost', err: error.message })}\n`),
    };
  }
  const { metadata: store, blobs } = await openStores(storeOptions);
  const app = await buildApp({ config, store, blobs });
  const log = app.fastify.log;
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
  log.info(
    {
      address,
      metadata: config.database ? 'postgresql' : 'sqlite',
      blobs: config.s3 ? `s3://${config.s3.bucket}/${config.s3.prefix}` : 'disk',
      dataDir: config.dataDir,
    },
    'server listening',
  );
  // Garbage collection runs in the background from now on, never before listen (domain/housekeeping.ts).
  const gc = startHousekeeping(store, blobs, {
    embedded: isEmbedded(storeOptions),
    intervalMs: config.gcIntervalSeconds * 1000,
    graceMs: config.gcGraceSeconds * 1000,
    log,
  });

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
