// Requires credentials on every /api/v1 route except the API docs, and attaches the caller's
// Principal to the request. Which credentials are accepted is the Authenticator's business.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Principal } from '../../domain/principal.js';
import { apiError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const PUBLIC_API_PREFIXES = ['/api/v1/api-docs'];

function needsCredentials(url: string): boolean {
  if (!url.startsWith('/api/v1/') && url !== '/api/v1') return false;
  return !PUBLIC_API_PREFIXES.some((prefix) => url.startsWith(prefix));
}

/** The authenticated caller; a route behind registerAuthentication always has one. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (request.principal === null) throw apiError('unauthenticated', 'Authentication required.');
  return request.principal;
}

export function registerAuthentication(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    if (!needsCredentials(request.url)) return;
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') {
      throw apiError(
        'unauthenticated',
        'Authentication required: send an Authorization header with "ApiKey <key>".',
        { headers: { 'www-authenticate': 'ApiKey' } },
      );
    }
    const principal = await authenticator.authenticate(header, { clientAddress: request.ip, requestId: request.id });
    if (principal === null) {
      throw apiError('unauthenticated', 'The credentials in the Authorization header are not valid.', {
        headers: { 'www-authenticate': 'ApiKey' },
      });
    }
    request.principal = principal;
  });
}
