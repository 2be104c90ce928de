// Builds the HTTP application over already-opened stores. Listening, signals and process concerns
// live in main.ts, so tests can build as many servers as they like in one process.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Authenticator } from './auth/authenticator.js';
import { ApiKeyService } from './auth/api-key-service.js';
import { AuditLog } from './auth/audit-log.js';
import { AuthService } from './auth/auth-service.js';
import { UserService, ensureAdminUser } from './auth/user-service.js';
import { formatOrigin, type Config } from './config.js';
import { DeploymentService } from './domain/deployment-service.js';
import { ExtensionService } from './domain/extension-service.js';
import { FILE_LINK_PREFIX, createFileLinkSigner } from './domain/file-links.js';
import { createInstallLinkSigner } from './domain/install-links.js';
import { defaultConsoleDir, registerConsole } from './http/console/serve-console.js';
import { registerAuthentication } from './http/plugins/authenticate.js';
import { registerErrorReplies, registerMethodNotAllowed } from './http/plugins/error-replies.js';
import { createMetrics, type Metrics } from './http/plugins/metrics.js';
import { registerBodyTimeout, registerConnectionCap, serverTimeouts } from './http/plugins/client-limits.js';
import { MAX_PATH_PARAM_LENGTH, clientErrorReply, frameworkErrorReply } from './http/plugins/protocol-errors.js';
import { logsRequestLines, registerRequestLog } from './http/plugins/request-log.js';
import { HotExtensionRead, putInFront } from './http/hot-extension-read.js';
import { KeptExtensionAnswers } from './http/kept-extension-answers.js';
import { registerIdleMemoryTrim } from './http/plugins/idle-memory-trim.js';
import { parseJsonBody } from './http/json-body.js';
import { requestIdOf } from './http/request-id.js';
import { CREATE_ROUTE, registerCreateExtension } from './http/routes/extensions/create-extension.js';
import { registerDeleteExtension } from './http/routes/extensions/delete-extension.js';
import { registerGetExtension } from './http/routes/extensions/get-extension.js';
import { registerListExtensions } from './http/routes/extensions/list-extensions.js';
import { registerUpdateExtension } from './http/routes/extensions/update-extension.js';
import { isUploadRoute, registerUploadExtension } from './http/routes/extensions/upload-extension.js';
import { registerGetFileVersion } from './http/routes/extensions/get-file-version.js';
import { registerListFileVersions } from './http/routes/extensions/list-file-versions.js';
import { registerRestoreFileVersion } from './http/routes/extensions/restore-file-version.js';
import { registerDownloadFile } from './http/routes/files/download-file.js';
import { registerDeploymentRoutes } from './http/routes/deployments/register.js';
import { registerOperations } from './http/routes/operations.js';
import { registerApiDocsPage } from './http/routes/api-docs-page.js';
import { LOG_OPTIONS } from './log-options.js';
import { fullGc } from './memory/full-gc.js';
import { IdleMemoryTrim } from './memory/idle-trim.js';
import { loadMallocTrim } from './memory/native-trim.js';
import { loadSendfile, type SendFile } from './http/sendfile.js';
import { fileUrlOf, type RouteDeps } from './http/route-deps.js';
import { registerAuditTrail } from './http/routes/audit/audit-trail.js';
import { registerListAudit } from './http/routes/audit/list-audit.js';
import { registerOwnApiKeyRoutes } from './http/routes/auth/api-keys.js';
import { registerSessionRoutes } from './http/routes/auth/sessions.js';
import { registerUsersApiKeyRoutes } from './http/routes/auth/users-api-keys.js';
import { registerCurrentUserRoutes } from './http/routes/users/current-user.js';
import { registerUserRoutes } from './http/routes/users/users.js';
import { schemaFormats } from './http/schema-formats.js';
import type { BlobStore } from './stores/blob-store.js';
import type { MetadataStore } from './stores/metadata-store.js';
import { storeOptionsFromConfig } from './stores/open-stores.js';

export interface AppOptions {
  config: Config;
  store: MetadataStore;
  blobs: BlobStore;
  /** Defaults to ApiKey, Basic and Bearer credentials of stored users (src/auth/auth-service.ts). */
  authenticator?: Authenticator;
  /** pino options, or false for no logs. */
  logger?: boolean | Record<string, unknown>;
  /** Generator of new extension ids (default: random 10-digit strings); tests force collisions with it. */
  newExtensionId?: () => string;
  /** Serve HTTPS with this certificate chain and key (PEM); the key can be swapped later (setSecureContext). */
  https?: { cert: Buffer; key: Buffer } | null;
  /**
   * false: the built-in admin is not created here but by createAdminUser(), which serve.ts calls once
   * the server listens, so a generated password is never shown for a start that then fails.
   */
  createAdminAtBuild?: boolean;
  /** The built web console (default dist/console, from `npm run build:console`); false serves none. */
  consoleDir?: string | false;
  /**
   * Called with the new Fastify instance before anything is registered: a test watches the routes
   * being added (onRoute) or adds one of its own (test/public-routes.test.ts).
   */
  beforeRoutes?: (fastify: FastifyInstance) => void;
}

export interface App {
  fastify: FastifyInstance;
  /** Call after listen() so links default to the listening address. */
  setListeningAddress(origin: string): void;
  /** The built-in admin's password when this start created it with a generated one (print it once). */
  generatedAdminPassword: string | null;
  /** Creates the built-in admin if it does not exist; resolves to its generated password, if one was. */
  createAdminUser(): Promise<string | null>;
  /** The GET answered before Fastify runs (http/hot-extension-read.ts), when the store keeps records. */
  hotRead: HotExtensionRead | null;
}

const LINK_SECRET_SETTING = 'file_link_secret';
const TOKEN_SECRET_SETTING = 'bearer_token_secret';

/** request.ip as Fastify computes it for the same trustProxy setting. */
function clientAddressOf(trust: ReturnType<typeof fastifyTrustProxy>): (request: IncomingMessage) => string | undefined {
  if (trust === false || trust === true) return (request) => request.socket.remoteAddress;
  const trusted = typeof trust === 'function' ? trust : proxyAddr.compile(trust);
  return (request) => {
    const addresses = proxyAddr.all(request, trusted);
    return addresses[addresses.length - 1];
  };
}

/** Fastify's trustProxy for a hop count is `(address, hop) => hop < count`; its typings lack the number form. */
function fastifyTrustProxy(setting: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (setting === false) return false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return [...setting];
}

export async function buildApp(options: AppOptions): Promise<App> {
  const { config, store, blobs } = options;
  const trustProxy = fastifyTrustProxy(config.trustProxy);
  const fastify = Fastify({
    logger: options.logger ?? { level: config.logLevel, ...LOG_OPTIONS },
    // request-log.ts writes the single line per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxJsonBytes,
    // The client's X-Request-Id only when it is short and safe (http/request-id.ts).
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Our JSON bodies never need coercion or defaults; query strings are parsed by hand (http/query.ts).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: true, formats: schemaFormats } },
    forceCloseConnections: 'idle',
    http: serverTimeouts(config),
    // Errors raised before any route runs are BasicFailedReply too (protocol-errors.ts).
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    frameworkErrors: frameworkErrorReply,
    clientErrorHandler: clientErrorReply,
    return503OnClosing: true,
    // request.ip (audit trail, login throttle, request log) is the socket's peer unless it is a
    // trusted proxy, whose X-Forwarded-For then names the client (EXTREPO_TRUST_PROXY).
    trustProxy,
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;
  options.beforeRoutes?.(fastify);

  // JSON bodies: strict UTF-8, no lone surrogates, an empty body is no body (http/json-body.ts).
  fastify.removeContentTypeParser('application/json');
  // application/merge-patch+json (RFC 7396) is what the PATCH routes of users take: the same JSON.
  fastify.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  const linkSecret = config.linkSecret ?? (await store.initSetting(LINK_SECRET_SETTING, randomBytes(32).toString('base64url')));
  const links = createFileLinkSigner(linkSecret, config.linkTtlSeconds);
  const metrics = createMetrics(() => store.referencedBlobBytes());
  const service = new ExtensionService({
    store,
    blobs,
    ...(options.newExtensionId ? { newId: options.newExtensionId } : {}),
    maxFileBytes: config.maxFileBytes,
    archiveLimits: {
      maxEntries: config.maxZipEntries,
      maxUncompressedBytes: config.maxUncompressedBytes,
      maxRatio: config.maxCompressionRatio,
      ratioMinBytes: config.compressionRatioMinBytes,
    },
    downloadPolicy: {
      allowHosts: config.downloadAllowHosts,
      connectTimeoutMs: config.downloadConnectTimeoutMs,
      idleTimeoutMs: config.downloadIdleTimeoutMs,
      maxBytes: config.maxFileBytes,
    },
    events: metrics.events,
    keepFileVersions: config.keepFileVersions,
  });

  let origin = config.publicUrl ?? formatOrigin(options.https ? 'https' : 'http', config.host, config.port);
  // EXTREPO_FILE_LINKS=presigned: file_metadata.url is a presigned S3 GET (config.ts requires S3 for it).
  const s3Options = config.fileLinks === 'presigned' ? (await storeOptionsFromConfig(config)).s3 : null;
  const presigner = s3Options ? await (await import('./stores/s3/s3-presign.js')).createS3Presigner(s3Options) : null;
  if (presigner) fastify.addHook('onClose', async () => presigner.close());
  const deployments = new DeploymentService({ store });
  // Install URLs share the file links' HMAC secret (one per installation, the same on every instance).
  const installLinks = createInstallLinkSigner(linkSecret);
  // Users and credentials: the HMAC secret of bearer tokens is kept in the database, so tokens
  // survive restarts and work on every instance; the first start creates the built-in admin.
  const tokenSecret = await store.initSetting(TOKEN_SECRET_SETTING, randomBytes(32).toString('base64url'));
  const createAdminUser = () => ensureAdminUser(store, config.adminPassword, new Date());
  const generatedAdminPassword = options.createAdminAtBuild === false ? null : await createAdminUser();
  const auth = new AuthService({ store, tokenSecret, tokenTtlSeconds: config.tokenTtlSeconds, configuredAdminKey: config.adminApiKey });
  const deps: RouteDeps = {
    config,
    service,
    deployments,
    installLinks,
    store,
    blobs,
    links,
    presigner,
    metrics,
    extensionAnswers: new KeptExtensionAnswers(),
    sendfile: config.sendfile ? sendfileFor(fastify) : null,
    publicBaseUrl: () => origin,
    auth,
    users: new UserService({ store, revokeSessions: (userName) => auth.revokeSessions(userName) }),
    keys: new ApiKeyService(store),
    audit: new AuditLog(store, (error, entry) => fastify.log.error({ err: error, action: entry.action }, 'audit record not written')),
  };
  const authenticator = options.authenticator ?? auth;

  registerErrorReplies(fastify);
  registerRequestLog(fastify, metrics);
  registerAuthentication(fastify, authenticator);
  const markAuthenticated = registerConnectionCap(fastify, config.maxUnauthenticatedConnections);
  registerBodyTimeout(fastify, config.bodyTimeoutMs, isUploadRoute);
  registerAuditTrail(fastify, deps.audit);
  if (config.memoryTrimIdleMs > 0) registerIdleMemoryTrim(fastify, idleMemoryTrim(fastify, config, metrics), isTransferRoute);

  registerOperations(fastify, deps);
  await registerApiDocsPage(fastify, config);
  registerSessionRoutes(fastify, deps);
  registerOwnApiKeyRoutes(fastify, deps);
  registerUsersApiKeyRoutes(fastify, deps);
  registerUserRoutes(fastify, deps);
  registerCurrentUserRoutes(fastify, deps);
  registerListAudit(fastify, deps);
  registerListExtensions(fastify, deps);
  registerCreateExtension(fastify, deps);
  registerGetExtension(fastify, deps);
  registerUpdateExtension(fastify, deps);
  registerDeleteExtension(fastify, deps);
  await registerUploadExtension(fastify, deps);
  registerListFileVersions(fastify, deps);
  registerGetFileVersion(fastify, deps);
  registerRestoreFileVersion(fastify, deps);
  registerDownloadFile(fastify, deps);
  registerMethodNotAllowed(fastify, '/api/v1/deployments/extensions', ['GET', 'POST']);
  registerMethodNotAllowed(fastify, '/api/v1/deployments/extensions/:extension_id', ['GET', 'POST', 'PUT', 'DELETE']);
  registerDeploymentRoutes(fastify, deps);
  registerMethodNotAllowed(fastify, '/api/v1/deployments/extensions/:extension_id/versions', ['GET']);
  registerMethodNotAllowed(fastify, '/api/v1/deployments/extensions/:extension_id/versions/:file_version', ['GET']);
  registerMethodNotAllowed(fastify, '/api/v1/deployments/extensions/:extension_id/versions/:file_version/_restore', ['POST']);
  const consoleDir = options.consoleDir ?? defaultConsoleDir();
  if (consoleDir !== false && !(await registerConsole(fastify, consoleDir))) {
    fastify.log.warn({ consoleDir }, 'the web console is not built (npm run build:console); serving the API only');
  }

  // Only where both caches are exact: the embedded store's records and the recalled callers.
  const { peekExtension } = store;
  const recall = authenticator.recall;
  let hotRead: HotExtensionRead | null = null;
  if (peekExtension !== undefined && recall !== undefined) {
    const hot = new HotExtensionRead({
      recall: (authorization) => recall.call(authenticator, authorization),
      peekExtension: (id) => peekExtension.call(store, id),
      answers: deps.extensionAnswers,
      fileUrl: (record) => fileUrlOf(deps, record),
      requestId: requestIdOf,
      clientAddress: clientAddressOf(trustProxy),
      authenticated: markAuthenticated,
      metrics,
      log: logsRequestLines(fastify.log) ? fastify.log : null,
    });
    putInFront(fastify.server, hot);
    fastify.addHook('onReady', (done) => {
      hot.markReady();
      done();
    });
    fastify.addHook('preClose', (done) => {
      hot.markClosing();
      done();
    });
    hotRead = hot;
  }

  return {
    fastify,
    hotRead,
    generatedAdminPassword,
    createAdminUser,
    setListeningAddress(listening: string) {
      if (config.publicUrl === null) origin = listening;
    },
  };
}

/** Routes whose bodies are files: uploads, file-link downloads, and creates (which may copy a download_url). */
function isTransferRoute(method: string, route: string): boolean {
  if (isUploadRoute(method, route)) return true;
  if (method === 'GET') return route.startsWith(`${FILE_LINK_PREFIX}/`);
  return method === 'POST' && route === CREATE_ROUTE;
}

function sendfileFor(fastify: FastifyInstance): SendFile | null {
  const native = loadSendfile();
  if ('send' in native) return native.send;
  fastify.log.info({ reason: native.unavailable }, 'sendfile is not available: downloads are copied through the process');
  return null;
}

function idleMemoryTrim(fastify: FastifyInstance, config: Config, metrics: Metrics): IdleMemoryTrim {
  const native = loadMallocTrim();
  if ('unavailable' in native) {
    fastify.log.info({ reason: native.unavailable }, 'malloc_trim is not available: idle memory after transfers is only garbage-collected');
  }
  return new IdleMemoryTrim({
    idleMs: config.memoryTrimIdleMs,
    collect: fullGc(),
    trim: 'trim' in native ? native.trim : null,
    onTrimmed: (report) => {
      metrics.memoryTrims.inc();
      const given = report.rssBefore - report.rssAfter;
      if (given > 0) metrics.memoryTrimmedBytes.inc(given);
      fastify.log.debug(
        { rssBefore: report.rssBefore, rssAfter: report.rssAfter, gcMs: Math.round(report.gcMs), released: report.released },
        'idle: garbage collected and freed memory given back to the kernel',
      );
    },
  });
}
