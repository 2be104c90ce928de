// Requires credentials on every route unless the route itself says it is public, and attaches the
// caller's Principal to the request. A route declares it with `config: { public: true }`, or by being
// registered in a scope given to declarePublicScope() (for routes a plugin registers); a route that
// declares nothing needs credentials, so a new route cannot be left open by forgetting a list
// (test/public-routes.test.ts walks every route). Which credentials are accepted is the
// Authenticator's business (ApiKey, Basic and Bearer: src/auth/auth-service.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator, RequestContext } from '../../auth/authenticator.js';
import type { Principal } from '../../domain/principal.js';
import { apiError, ApiError, type ErrorDefinition } from '../../errors.js';

/** What the audit trail should record about a request, beyond its route (see routes/audit). */
export interface AuditNote {
  /** Overrides the action derived from the route. */
  action?: string;
  target?: string;
  /** Who the caller claimed to be, when it could not prove it. */
  userId?: string;
  keyId?: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    auditNote: AuditNote | null;
  }
  interface FastifyContextConfig {
    /** Answers without credentials: anyone may call it, or it checks its own (a signed link, a password). */
    public?: boolean;
    /**
     * A catch-all that only hands paths no route serves to the not-found handler (the console's
     * /api/*): credentials are required as for any unknown path.
     */
    unknownPaths?: boolean;
    /** The error for missing or failed credentials on this route (default: 401 root.unauthenticated). */
    credentialsRefusal?: ErrorDefinition;
  }
}

const CHALLENGE = { 'www-authenticate': 'ApiKey, Basic realm="extrepo", Bearer' };
// The API documentation pages are public, their unknown paths too (a plain 404).
const API_DOCS_PREFIX = '/api/v1/api-docs';

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * A path no route serves is a 404, but under /api/v1 only after credentials, as before any route
 * existed there: an anonymous caller cannot tell the API's paths from others.
 */
function unknownPathNeedsCredentials(url: string): boolean {
  const path = pathOf(url);
  if (!path.startsWith('/api/v1/') && path !== '/api/v1') return false;
  return !path.startsWith(API_DOCS_PREFIX);
}

function needsCredentials(request: FastifyRequest): boolean {
  const config = request.routeOptions.config;
  if (config.public === true) return false;
  if (request.is404 || config.unknownPaths === true) return unknownPathNeedsCredentials(request.url);
  return true;
}

/** Declares every route registered in `scope` (and the scopes inside it) public: for plugins' routes. */
export function declarePublicScope(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...route.config, public: true };
  });
}

/** The authenticated caller; a route behind registerAuthentication always has one. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (request.principal === null) throw apiError('unauthenticated', 'Authentication required.');
  return request.principal;
}

/** Adds to what the audit trail records about this request. */
export function noteForAudit(request: FastifyRequest, note: AuditNote): void {
  request.auditNote = { ...request.auditNote, ...note };
}

export function registerAuthentication(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('auditNote', null);
  app.addHook('onRequest', (request, _reply, done) => {
    if (!needsCredentials(request)) {
      done();
      return;
    }
    // The common case, a caller seen moments ago, is answered without a promise (hot path).
    const header = request.headers.authorization;
    const recalled = header === undefined || authenticator.recall === undefined ? undefined : authenticator.recall(header);
    if (recalled !== undefined) {
      request.principal = recalled;
      noteForAudit(request, { userId: recalled.userId, keyId: recalled.keyId });
      done();
      return;
    }
    authenticateRequest(request, authenticator).then(() => done(), done);
  });
}

async function authenticateRequest(request: FastifyRequest, authenticator: Authenticator): Promise<void> {
  const code = request.routeOptions.config.credentialsRefusal ?? null;
  const fail = (message: string) =>
    code === null ? apiError('unauthenticated', message, { headers: CHALLENGE }) : new ApiError(code, message, { headers: CHALLENGE });
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') {
    throw fail('Authentication required: send an Authorization header with "ApiKey <key>", "Bearer <token>" or Basic credentials.');
  }
  const context: RequestContext = { clientAddress: request.ip, requestId: request.id };
  let principal: Principal | null;
  try {
    principal = await authenticator.authenticate(header, context);
  } finally {
    if (context.attempt !== undefined) {
      const note: AuditNote = {};
      if (context.attempt.userName !== undefined) note.userId = context.attempt.userName;
      if (context.attempt.keyId !== undefined) note.keyId = context.attempt.keyId;
      noteForAudit(request, note);
    }
  }
  if (principal === null) {
    // Failed passwords are audited wherever they were tried; other failures only on changes.
    if (/^basic\s/i.test(header)) noteForAudit(request, { action: 'login-basic' });
    throw fail('The credentials in the Authorization header are not valid, have expired or were revoked.');
  }
  request.principal = principal;
}
