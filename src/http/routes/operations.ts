// Operational endpoints, all without credentials: liveness, readiness, metrics and the API document
// at the path where ECE serves its own (/api/v1/api-docs/swagger.json).
// The API document also has a human-readable page (Swagger UI) at /api/v1/api-docs/: api-docs-page.ts.
import type { FastifyInstance } from 'fastify';
import { apiError } from '../../errors.js';
import { STORE_OUTAGE_RETRY_AFTER_SECONDS } from '../plugins/error-replies.js';
import { READY_MIN_FREE_BYTES, freeBytes } from '../../stores/storage-full.js';
import { EXTREPO_VERSION } from '../../version.js';
import { servedApiDocument } from '../api-document.js';
import type { RouteDeps } from '../route-deps.js';

export function registerOperations(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok', version: EXTREPO_VERSION }));

  // The answer names the store that is down but not why: /readyz is public, and the cause (a host
  // name, an address, a path) belongs in the server's log, where it is written.
  const storeNames = {
    metadata: `the metadata store (${deps.config.database ? 'PostgreSQL' : 'SQLite'})`,
    blobs: `the file store (${deps.config.s3 ? 'S3' : 'local disk'})`,
  };
  app.get('/readyz', { config: { public: true } }, async (request) => {
    const [metadata, blobs] = await Promise.allSettled([deps.store.ping(), deps.blobs.ping()]);
    const down: string[] = [];
    for (const [name, outcome] of [
      ['metadata', metadata],
      ['blobs', blobs],
    ] as const) {
      if (outcome.status === 'fulfilled') continue;
      down.push(storeNames[name]);
      request.log.warn({ err: outcome.reason, store: name }, 'readiness check: a store is not answering');
    }
    if (down.length > 0) {
      throw apiError('unavailable', `Not ready: ${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} not answering; the server log says why.`, {
        headers: { 'retry-after': String(STORE_OUTAGE_RETRY_AFTER_SECONDS) },
      });
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

  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/api/v1/api-docs/swagger.json', { config: { public: true } }, async (request) => servedApiDocument(request, deps.config.publicUrl));
}
