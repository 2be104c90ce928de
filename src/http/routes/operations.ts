// Operational endpoints, all without credentials: liveness, readiness, metrics and the API document
// at the path where ECE serves its own (/api/v1/api-docs/swagger.json).
import type { FastifyInstance } from 'fastify';
import { apiError } from '../../errors.js';
import type { RouteDeps } from '../route-deps.js';
import { swaggerDocument } from '../spec.js';

export function registerOperations(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    try {
      await Promise.all([deps.store.ping(), deps.blobs.ping()]);
    } catch (error) {
      throw apiError('unavailable', `A store is not reachable: ${(error as Error).message}`, { cause: error });
    }
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  // The scheme clients reach us by: the public URL's, else https when extrepo terminates TLS itself.
  const scheme = deps.config.publicUrl ? new URL(deps.config.publicUrl).protocol.replace(':', '') : deps.config.tls ? 'https' : 'http';
  app.get('/api/v1/api-docs/swagger.json', async () => ({ ...swaggerDocument, schemes: [scheme] }));
}
