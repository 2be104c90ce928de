// Requires credentials on every /api/v1 route except the API docs and _login, and attaches the
// caller's Principal to the request. Which credentials are accepted is the Authenticator's business
// (ApiKey, Basic and Bearer: src/auth/auth-service.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator, RequestContext } from '../../auth/authenticator.js';
import type { Principal } from '../../domain/principal.js';
import { apiError, ApiError, ERRORS } from '../../errors.js';

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
}

const PUBLIC_API_PATHS = ['/api/v1/users/auth/_login'];
const PUBLIC_API_PREFIXES = ['/api/v1/api-docs'];
const REFRESH_PATH = '/api/v1/users/auth/_refresh';
const CHALLENGE = { 'www-authenticate': 'ApiKey, Basic realm="extrepo", Bearer' };

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function needsCredentials(url: string): boolean {
  const path = pathOf(url);
  if (!path.startsWith('/api/v1/') && path !== '/api/v1') return false;
  if (PUBLIC_API_PATHS.includes(path)) return false;
  return !PUBLIC_API_PREFIXES.some((prefix) => path.startsWith(prefix));
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
    if (!needsCredentials(request.url)) {
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
  // ECE answers an invalid or expired token on _refresh with root.unauthorized (its spec).
  const code = pathOf(request.url) === REFRESH_PATH ? ERRORS.tokenInvalid : null;
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
