// One JSON log line per request, written when the response is done, plus the request metrics and
// the x-request-id header.
// Signed links are logged without their signature, and no header that carries a secret is logged.
import type { FastifyInstance } from 'fastify';
import { redactSignature } from '../../domain/file-links.js';
import type { Metrics } from './metrics.js';

export function registerRequestLog(app: FastifyInstance, metrics: Metrics): void {
  // Hooks on every request are synchronous (callback style): an async hook costs a promise and a
  // microtask turn per request, which shows on the metadata GET benchmark.
  // Skip building the line when the configured level would drop it anyway.
  const requestLinesWanted = !['warn', 'error', 'fatal', 'silent'].includes(app.log.level);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.observeRequest(route, request.method, reply.statusCode, seconds);
    if (!requestLinesWanted) {
      done();
      return;
    }
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
    done();
  });
}
