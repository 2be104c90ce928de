// Runs the server: configuration, stores, start-up housekeeping, listening, TLS reloads and graceful
// shutdown. main.ts (the production entry point, `node dist/main.js`) only calls serve() and turns
// its outcome into an exit code; a CLI `extrepo serve` can do the same.
//
// Every start-up failure becomes a StartupError with one line naming the setting involved
// (src/startup-errors.ts); only an unexpected error keeps its stack trace.
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { buildApp, type App } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { prepareDataDir } from './data-dir.js';
import { startHousekeeping } from './domain/housekeeping.js';
import { tuneHeap, YOUNG_GENERATION_FLAG, youngGenerationPinned } from './heap-tuning.js';
import { startEmbeddedBackups } from './backup/server-backups.js';
import { listeningLogFields } from './listening-log.js';
import { jsonLogLine } from './log-options.js';
import { routeProcessWarnings } from './process-warnings.js';
import { EXIT_CODES, StartupError, describeBucketError, describeDatabaseError, describeListenError, describeTlsError } from './startup-errors.js';
import type { BlobStore } from './stores/blob-store.js';
import type { MetadataStore } from './stores/metadata-store.js';
import { StoreUnavailableError } from './stores/store-unavailable.js';
import { probeSqliteAddon } from './sqlite-addon-probe.js';
import { isEmbedded, openStores, storeOptionsFromConfig, type StoreOptions } from './stores/open-stores.js';

export interface ServeOptions {
  /** The environment to read the settings from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Install SIGTERM/SIGINT (stop) and SIGHUP (reload the TLS certificate) handlers. Default true. */
  handleSignals?: boolean;
}

export interface RunningServer {
  /** The listening address, e.g. http://127.0.0.1:12400 or https://[::1]:12400. */
  address: string;
  config: Config;
  /** Stops accepting connections, lets requests in flight finish (EXTREPO_SHUTDOWN_GRACE_MS), closes the stores. */
  stop(reason?: string): Promise<void>;
  /** Resolves once the server has stopped (after stop(), e.g. on SIGTERM). */
  stopped: Promise<void>;
  /** Re-reads EXTREPO_TLS_CERT / EXTREPO_TLS_KEY and uses them for new connections (what SIGHUP does). */
  reloadTls(): Promise<void>;
}

async function readTlsFiles(config: Config): Promise<{ cert: Buffer; key: Buffer }> {
  const tls = config.tls!;
  const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
  // Fails here, with the setting named, on a file that is no PEM or a key that is not the certificate's.
  createSecureContext({ cert, key });
  return { cert, key };
}

function readConfig(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new StartupError(`invalid configuration: ${error.message}`, EXIT_CODES.invalidConfig);
    throw error;
  }
}

async function openConfiguredStores(
  config: Config,
  storeOptions: StoreOptions,
): Promise<{ store: MetadataStore; blobs: BlobStore; filesUnavailable: StoreUnavailableError | null }> {
  if (!config.database || !config.s3) await prepareDataDir(config.dataDir);
  if (!config.database) probeSqliteAddon();
  let stores: Awaited<ReturnType<typeof openStores>>;
  try {
    stores = await openStores(storeOptions);
  } catch (error) {
    // The S3 blob store does not contact S3 when it opens, and the data dir is known to be
    // writable: what fails here is the metadata store.
    throw describeDatabaseError(error, config);
  }
  let filesUnavailable: StoreUnavailableError | null = null;
  try {
    // S3 is only contacted on first use: a missing bucket or wrong credentials must stop the start,
    // not the first upload. S3 being down is an outage, not a setting: the server starts not ready
    // (/readyz 503) and becomes ready when S3 answers again.
    if (config.s3 !== null) await stores.blobs.ping();
  } catch (error) {
    if (error instanceof StoreUnavailableError) {
      filesUnavailable = error;
    } else {
      await Promise.allSettled([stores.metadata.close(), stores.blobs.close()]);
      throw describeBucketError(error, config);
    }
  }
  return { store: stores.metadata, blobs: stores.blobs, filesUnavailable };
}

function printAdminPassword(password: string, address: string): void {
  // Printed once, on the first start only: the password is stored hashed and cannot be shown again.
  process.stdout.write(
    `\nextrepo: created the built-in user "admin" (ece_platform_admin) with this password, shown only this once:\n\n` +
      `  ${password}\n\n` +
      `Log in with: curl -X POST -H 'Content-Type: application/json' -d '{"username":"admin","password":"…"}' ` +
      `${address}/api/v1/users/auth/_login\n` +
      `Set EXTREPO_ADMIN_PASSWORD before the first start to choose the password instead.\n\n`,
  );
}

export async function serve(options: ServeOptions = {}): Promise<RunningServer> {
  const processWarnings = routeProcessWarnings();
  tuneHeap();
  const config = readConfig(options.env ?? process.env);
  // Logged once the logger exists; on a failed start, printed before the error.
  const warnings = config.warnings;
  try {
    return await start(config, options, processWarnings);
  } catch (error) {
    for (const warning of warnings) process.stderr.write(`extrepo: warning: ${warning}\n`);
    throw error;
  }
}

async function start(config: Config, options: ServeOptions, processWarnings: ReturnType<typeof routeProcessWarnings>): Promise<RunningServer> {
  let https: { cert: Buffer; key: Buffer } | null = null;
  if (config.tls !== null) {
    try {
      https = await readTlsFiles(config);
    } catch (error) {
      throw describeTlsError(error, config);
    }
  }

  let storeOptions: StoreOptions;
  try {
    storeOptions = await storeOptionsFromConfig(config);
  } catch (error) {
    throw describeDatabaseError(error, config);
  }
  // Connection losses are survived (the pool reconnects) but must not go unseen: report them on
  // stderr as a JSON line like the logs, since the logger only exists once the app is built.
  if (storeOptions.databaseUrl) {
    storeOptions.postgres = {
      ...storeOptions.postgres,
      onError: (error) => process.stderr.write(jsonLogLine(40, 'database connection lost', { err: error.message })),
    };
  }
  const opened = await openConfiguredStores(config, storeOptions);
  const { filesUnavailable } = opened;
  // On the embedded store, `npm run backup` asks this server for a backup (src/backup/server-backups.ts).
  const backups = startEmbeddedBackups(config, { metadata: opened.store, blobs: opened.blobs });
  const { metadata: store, blobs } = backups.stores;

  let app: App;
  try {
    app = await buildApp({ config, store, blobs, https, createAdminAtBuild: false });
  } catch (error) {
    await Promise.allSettled([store.close(), blobs.close()]);
    throw error;
  }
  const log = app.fastify.log;
  processWarnings.useLogger(log);
  for (const warning of config.warnings) log.warn(warning);
  if (!youngGenerationPinned()) {
    log.info(`node was started without ${YOUNG_GENERATION_FLAG}: after large transfers, small requests may cost more (docs/deployment.md)`);
  }
  if (filesUnavailable) {
    log.warn(
      { err: describeBucketError(filesUnavailable.cause, config).message },
      'starting while the file store is unavailable: not ready until it answers',
    );
  }

  // Requests that arrive between listen() and the end of the start (the admin's creation) wait for
  // it, so a /healthz that answers means the one-time password has already been printed.
  let started = false;
  app.hotRead?.hold(true);
  let markStarted!: () => void;
  const startDone = new Promise<void>((resolve) => (markStarted = resolve));
  app.fastify.addHook('onRequest', (_request, _reply, done) => {
    if (started) done();
    else void startDone.then(() => done());
  });

  let address: string;
  try {
    address = await app.fastify.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.fastify.close().catch(() => undefined);
    await Promise.allSettled([store.close(), blobs.close()]);
    throw describeListenError(error, config);
  }
  app.setListeningAddress(address);
  log.info({ ...listeningLogFields(config, address), tls: config.tls !== null }, 'server listening');
  await backups.listen(log);
  // Only now, with the port really ours: a start that failed earlier has created no admin whose
  // generated password nobody saw.
  let generatedPassword: string | null;
  try {
    generatedPassword = await app.createAdminUser();
  } catch (error) {
    await app.fastify.close().catch(() => undefined);
    await Promise.allSettled([store.close(), blobs.close()]);
    throw error;
  }
  if (generatedPassword !== null) printAdminPassword(generatedPassword, config.publicUrl ?? address);
  started = true;
  app.hotRead?.hold(false);
  markStarted();

  // Garbage collection runs in the background from now on, never before listen (domain/housekeeping.ts).
  const gc = startHousekeeping(store, blobs, {
    embedded: isEmbedded(storeOptions),
    intervalMs: config.gcIntervalSeconds * 1000,
    graceMs: config.gcGraceSeconds * 1000,
    fullSweepIntervalMs: config.gcFullSweepIntervalSeconds * 1000,
    fullSweepBlobsPerCycle: config.gcFullSweepBlobsPerCycle,
    log,
  });

  const reloadTls = async (): Promise<void> => {
    if (config.tls === null) {
      log.info('reload requested (SIGHUP): nothing to reload without TLS');
      return;
    }
    try {
      const files = await readTlsFiles(config);
      (app.fastify.server as unknown as { setSecureContext(options: { cert: Buffer; key: Buffer }): void }).setSecureContext(files);
      log.info({ cert: config.tls.certFile }, 'TLS certificate reloaded');
    } catch (error) {
      // The old certificate stays in use: a half-written renewal must not take the server down.
      log.error({ err: error, cert: config.tls.certFile, key: config.tls.keyFile }, 'TLS certificate not reloaded; still serving the previous one');
    }
  };

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | null = null;
  const stop = (reason = 'stop'): Promise<void> => {
    stopping ??= (async () => {
      log.info({ signal: reason, graceMs: config.shutdownGraceMs }, 'shutting down: no new connections, finishing requests in flight');
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
        removeSignalHandlers();
      }
      log.info('stopped');
      resolveStopped();
    })();
    return stopping;
  };

  const onTerm = () => void stop('SIGTERM');
  const onInt = () => void stop('SIGINT');
  const onHup = () => void reloadTls();
  const removeSignalHandlers = () => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
  };
  if (options.handleSignals ?? true) {
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    // Always handled: SIGHUP is a reload (systemctl reload), which must never kill the server, TLS or not.
    process.on('SIGHUP', onHup);
  }

  return { address, config, stop, stopped, reloadTls };
}
