// Builds the HTTP application over already-opened stores. Listening, signals and process concerns
// live in main.ts, so tests can build as many servers as they like in one process.
import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Authenticator } from './auth/authenticator.js';
import { ApiKeyService } from './auth/api-key-service.js';
import { AuditLog } from './auth/audit-log.js';
import { AuthService } from './auth/auth-service.js';
import { UserService, ensureAdminUser } from './auth/user-service.js';
import type { Config } from './config.js';
import { ExtensionService } from './domain/extension-service.js';
import { createFileLinkSigner } from './domain/file-links.js';
import { defaultConsoleDir, registerConsole } from './http/console/serve-console.js';
import { registerAuthentication } from './http/plugins/authenticate.js';
import { registerErrorReplies, registerMethodNotAllowed } from './http/plugins/error-replies.js';
import { createMetrics } from './http/plugins/metrics.js';
import { registerRequestLog } from './http/plugins/request-log.js';
import { registerCreateExtension } from './http/routes/extensions/create-extension.js';
import { registerDeleteExtension } from './http/routes/extensions/delete-extension.js';
import { registerGetExtension } from './http/routes/extensions/get-extension.js';
import { registerListExtensions } from './http/routes/extensions/list-extensions.js';
import { registerUpdateExtension } from './http/routes/extensions/update-extension.js';
import { registerUploadExtension } from './http/routes/extensions/upload-extension.js';
import { registerDownloadFile } from './http/routes/files/download-file.js';
import { registerOperations } from './http/routes/operations.js';
import { registerAuditTrail } from './http/routes/audit/audit-trail.js';
import { registerListAudit } from './http/routes/audit/list-audit.js';
import { registerOwnApiKeyRoutes } from './http/routes/auth/api-keys.js';
import type { AuthRouteDeps } from './http/routes/auth/deps.js';
import { registerSessionRoutes } from './http/routes/auth/sessions.js';
import { registerUsersApiKeyRoutes } from './http/routes/auth/users-api-keys.js';
import { registerCurrentUserRoutes } from './http/routes/users/current-user.js';
import { registerUserRoutes } from './http/routes/users/users.js';
import type { RouteDeps } from './http/route-deps.js';
import type { BlobStore } from './stores/blob-store.js';
import type { MetadataStore } from './stores/metadata-store.js';
import { storeOptionsFromConfig } from './stores/open-stores.js';
import { createS3Presigner } from './stores/s3/s3-presign.js';

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
  /** The built web console (default dist/console, from `npm run build:console`); false serves none. */
  consoleDir?: string | false;
}

export interface App {
  fastify: FastifyInstance;
  /** Call after listen() so links default to the listening address. */
  setListeningAddress(origin: string): void;
  /** The built-in admin's password when this start created it with a generated one (print it once). */
  generatedAdminPassword: string | null;
}

const LINK_SECRET_SETTING = 'file_link_secret';
const TOKEN_SECRET_SETTING = 'bearer_token_secret';

export async function buildApp(options: AppOptions): Promise<App> {
  const { config, store, blobs } = options;
  const fastify = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    // request-log.ts writes the single line per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxJsonBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Our JSON bodies never need coercion or defaults; query strings are parsed by hand (http/query.ts).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: true } },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  // A JSON parser that treats an empty body as no body: ecctl's DELETE carries
  // Content-Type: application/json without one, and a POST without a body then fails the schema
  // with a message that says the body is required.
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  const linkSecret = config.linkSecret ?? (await store.initSetting(LINK_SECRET_SETTING, randomBytes(32).toString('base64url')));
  const links = createFileLinkSigner(linkSecret, config.linkTtlSeconds);
  const metrics = createMetrics(() => blobs.totalBytes());
  const service = new ExtensionService({
    store,
    blobs,
    ...(options.newExtensionId ? { newId: options.newExtensionId } : {}),
    maxFileBytes: config.maxFileBytes,
    archiveLimits: {
      maxEntries: config.maxZipEntries,
      maxUncompressedBytes: config.maxUncompressedBytes,
      maxRatio: 100,
      ratioMinBytes: 1024 * 1024,
    },
    downloadPolicy: {
      allowHosts: config.downloadAllowHosts,
      connectTimeoutMs: config.downloadConnectTimeoutMs,
      idleTimeoutMs: config.downloadIdleTimeoutMs,
      maxBytes: config.maxFileBytes,
    },
    events: metrics.events,
  });

  let origin = config.publicUrl ?? `http://${config.host}:${config.port}`;
  // EXTREPO_FILE_LINKS=presigned: file_metadata.url is a presigned S3 GET (config.ts requires S3 for it).
  const s3Options = config.fileLinks === 'presigned' ? (await storeOptionsFromConfig(config)).s3 : null;
  const presigner = s3Options ? await createS3Presigner(s3Options) : null;
  if (presigner) fastify.addHook('onClose', async () => presigner.close());
  const deps: RouteDeps = { config, service, store, blobs, links, presigner, metrics, publicBaseUrl: () => origin };
  // Users and credentials: the HMAC secret of bearer tokens is kept in the database, so tokens
  // survive restarts and work on every instance; the first start creates the built-in admin.
  const tokenSecret = await store.initSetting(TOKEN_SECRET_SETTING, randomBytes(32).toString('base64url'));
  const generatedAdminPassword = await ensureAdminUser(store, config.adminPassword, new Date());
  const auth = new AuthService({ store, tokenSecret, tokenTtlSeconds: config.tokenTtlSeconds, configuredAdminKey: config.adminApiKey });
  const authDeps: AuthRouteDeps = {
    auth,
    users: new UserService({ store, revokeSessions: (userName) => auth.revokeSessions(userName) }),
    keys: new ApiKeyService(store),
    audit: new AuditLog(store, (error, entry) => fastify.log.error({ err: error, action: entry.action }, 'audit record not written')),
  };
  const authenticator = options.authenticator ?? auth;

  registerErrorReplies(fastify);
  registerRequestLog(fastify, metrics);
  registerAuthentication(fastify, authenticator);
  registerAuditTrail(fastify, authDeps.audit);

  registerOperations(fastify, deps);
  registerSessionRoutes(fastify, authDeps);
  registerOwnApiKeyRoutes(fastify, authDeps);
  registerUsersApiKeyRoutes(fastify, authDeps);
  registerUserRoutes(fastify, authDeps);
  registerCurrentUserRoutes(fastify, authDeps);
  registerListAudit(fastify, authDeps);
  registerListExtensions(fastify, deps);
  registerCreateExtension(fastify, deps);
  registerGetExtension(fastify, deps);
  registerUpdateExtension(fastify, deps);
  registerDeleteExtension(fastify, deps);
  await registerUploadExtension(fastify, deps);
  registerDownloadFile(fastify, deps);
  registerMethodNotAllowed(fastify, '/api/v1/deployments/extensions', ['GET', 'POST']);
  registerMethodNotAllowed(fastify, '/api/v1/deployments/extensions/:extension_id', ['GET', 'POST', 'PUT', 'DELETE']);
  const consoleDir = options.consoleDir ?? defaultConsoleDir();
  if (consoleDir !== false && !(await registerConsole(fastify, consoleDir))) {
    fastify.log.warn({ consoleDir }, 'the web console is not built (npm run build:console); serving the API only');
  }

  return {
    fastify,
    generatedAdminPassword,
    setListeningAddress(listening: string) {
      if (config.publicUrl === null) origin = listening;
    },
  };
}
