// Operational endpoints, all without credentials: liveness, readiness, metrics and the API document
// at the path where ECE serves its own (/api/v1/api-docs/swagger.json).
import type { FastifyInstance } from 'fastify';
import { apiError } from '../../errors.js';
import { STORE_OUTAGE_RETRY_AFTER_SECONDS } from '../plugins/error-replies.js';
import type { RouteDeps } from '../route-deps.js';
import { swaggerDocument } from '../spec.js';

export function registerOperations(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    // Each store named on its own, and no error message: those carry internal addresses.
    const [metadata, files] = await Promise.allSettled([deps.store.ping(), deps.blobs.ping()]);
    const down = [
      ...(metadata.status === 'rejected' ? [`the metadata store (${deps.config.database ? 'PostgreSQL' : 'SQLite'})`] : []),
      ...(files.status === 'rejected' ? [`the file store (${deps.config.s3 ? 'S3' : 'disk'})`] : []),
    ];
    if (down.length > 0) {
      throw apiError('unavailable', `Not ready: ${down.join(' and ')} cannot be reached.`, {
        headers: { 'retry-after': String(STORE_OUTAGE_RETRY_AFTER_SECONDS) },
        // Logged with the answer, for the operator.
        cause: metadata.status === 'rejected' ? metadata.reason : files.status === 'rejected' ? files.reason : undefined,
      });
    }
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/api/v1/api-docs/swagger.json', async () => swaggerDocument);
}
