// POST /users/auth/_login, /_refresh, /_logout and GET /users/auth (ECE's login, refresh-token,
// logout and get-authentication-info).
import type { FastifyInstance } from 'fastify';
import { apiError, ERRORS } from '../../../errors.js';
import { noteForAudit, requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';

const REFRESH_URL = '/api/v1/users/auth/_refresh';

export function registerSessionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post('/api/v1/users/auth/_login', { config: { public: true } }, async (request) => {
    const body = request.body as Record<string, unknown> | undefined;
    const username = body?.username;
    const password = body?.password;
    if (typeof username === 'string') noteForAudit(request, { userId: username, target: username });
    if (typeof username !== 'string' || typeof password !== 'string' || username === '') {
      const fields = ['username', 'password'].filter((field) => typeof body?.[field] !== 'string');
      throw apiError('invalidJson', 'The body must be a LoginRequest: {"username": "…", "password": "…"}.', {
        fields: fields.length > 0 ? fields : ['username'],
      });
    }
    const issued = await deps.auth.login(username, password, { clientAddress: request.ip, requestId: request.id });
    return { token: issued.token, session_expiration_time: issued.expiresAt.toISOString() };
  });

  // ECE answers an invalid or expired token on _refresh with root.unauthorized (its spec).
  app.post('/api/v1/users/auth/_refresh', { config: { credentialsRefusal: ERRORS.tokenInvalid } }, async (request) => {
    const issued = await deps.auth.refresh(requirePrincipal(request));
    return { token: issued.token, session_expiration_time: issued.expiresAt.toISOString() };
  });

  app.post('/api/v1/users/auth/_logout', async (request) => {
    await deps.auth.logout(requirePrincipal(request));
    return {};
  });

  app.get('/api/v1/users/auth', async (request) => {
    const principal = requirePrincipal(request);
    // ECE's AuthenticationInfo, plus who is signed in and how (fields ECE does not have).
    const info: Record<string, unknown> = {
      has_elevated_permissions: false,
      refresh_token_url: REFRESH_URL,
      user_name: principal.userId,
      authentication_method: principal.method ?? 'api_key',
      roles: principal.roles,
    };
    if (principal.keyId !== null) info.api_key_id = principal.keyId;
    if (principal.expiresAt) info.expires_at = principal.expiresAt.toISOString();
    return info;
  });
}
