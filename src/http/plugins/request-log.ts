// One JSON log line per request, written when the response is done, plus the request metrics.
// Signed links are logged without their signature, and no header that carries a secret is logged.
import type { FastifyInstance } from 'fastify';
import { redactSignature } from '../../domain/file-links.js';
import type { Metrics } from './metrics.js';

export function registerRequestLog(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.observeRequest(route, request.method, reply.statusCode, seconds);
    request.log.info(
      {
        method: request.method,
        url: redactSignature(request.url),
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        client: request.ip,
        user: request.principal?.userId,
        key: request.principal?.keyId ?? undefined,
        userAgent: request.headers['user-agent'],
      },
      'request',
    );
  });
}
