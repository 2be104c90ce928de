// Operational endpoints, all without credentials: liveness, readiness, metrics and the API document
// at the path where ECE serves its own (/api/v1/api-docs/swagger.json).
import type { FastifyInstance } from 'fastify';
import { apiError } from '../../errors.js';
import { READY_MIN_FREE_BYTES, freeBytes } from '../../stores/storage-full.js';
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
    // SQLite and the blob directory live in the data dir: with it full they still answer, but no
    // change can succeed, so the instance is not ready.
    if (deps.config.database === null || deps.config.s3 === null) {
      const free = await freeBytes(deps.config.dataDir);
      if (free < READY_MIN_FREE_BYTES) {
        throw apiError('unavailable', `The storage is full: ${free} bytes free in the data directory, less than ${READY_MIN_FREE_BYTES}.`);
      }
    }
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/api/v1/api-docs/swagger.json', async () => swaggerDocument);
}
