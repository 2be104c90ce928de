// POST /users/auth/_login, /_refresh, /_logout and GET /users/auth (ECE's login, refresh-token,
// logout and get-authentication-info).
import type { FastifyInstance } from 'fastify';
import type { LoginRequest } from '../../../api-types.js';
import { apiError, ERRORS } from '../../../errors.js';
import { noteForAudit, requirePrincipal } from '../../plugins/authenticate.js';
import { fieldsOf, refuseBodyAs } from '../../schema-refusal.js';
import { loginRequestSchema } from '../../schemas.js';
import type { RouteDeps } from '../../route-deps.js';

const REFRESH_URL = '/api/v1/users/auth/_refresh';

/**
 * The refusal of a body that is no LoginRequest: the fields that are missing or not strings (both
 * when the body is no object), else the user name, which was empty.
 */
const refuseLogin = refuseBodyAs((issues) => {
  const wrong = issues.filter((issue) => issue.keyword !== 'minLength');
  const fields = fieldsOf(wrong, ['', 'username', 'password']);
  return apiError('invalidJson', 'The body must be a LoginRequest: {"username": "…", "password": "…"}.', {
    fields: fields.includes('') ? ['username', 'password'] : fields.length > 0 ? fields : ['username'],
  });
});

export function registerSessionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Body: LoginRequest }>(
    '/api/v1/users/auth/_login',
    {
      config: { public: true },
      schema: { body: loginRequestSchema },
      schemaErrorFormatter: refuseLogin,
      // Before validation: a refused sign-in is audited under the name it claimed.
      preValidation: (request, _reply, done) => {
        const username = (request.body as { username?: unknown } | undefined)?.username;
        if (typeof username === 'string') noteForAudit(request, { userId: username, target: username });
        done();
      },
    },
    async (request) => {
      const { username, password } = request.body;
      const issued = await deps.auth.login(username, password, { clientAddress: request.ip, requestId: request.id });
      return { token: issued.token, session_expiration_time: issued.expiresAt.toISOString() };
    },
  );

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
