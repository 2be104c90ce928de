// One JSON log line per request, and the request metrics, written exactly once when the response's
// connection is done with it, however that happens: the answer was sent, or the client closed the
// connection early. Fastify's onResponse hook runs only after a response has finished, so a client
// that closes its connection as soon as it has read a download's last byte (before the server has
// ended the response) would otherwise leave no line and no count at all.
//
// `aborted: true` marks a request whose connection closed before the whole answer was handed to it;
// its status is the one being sent, or 499 (nginx's "client closed request") if no answer had begun.
// Streamed downloads also log `bytes`, the body bytes sent, which extrepo_downloaded_bytes_total adds up.
//
// Signed links are logged without their signature, and no header that carries a secret is logged.
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../domain/principal.js';
import { redactSignature } from '../../domain/file-links.js';
import { registerBodyMeter } from '../body-meter.js';
import type { Metrics } from './metrics.js';

/** Polled by load balancers and Prometheus every few seconds: their successes are logged at debug level. */
const POLLED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** Status logged and counted for a request whose client left before any answer was sent. */
export const CLIENT_CLOSED_REQUEST = 499;

// pino's numeric levels (a disabled logger has no level, and logs nothing).
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

const levelValue = (log: FastifyBaseLogger): number => LEVEL_VALUES[log.level] ?? LEVEL_VALUES.silent!;

/** Whether the logger's level keeps the info line of an ordinary request. */
export function logsRequestLines(log: FastifyBaseLogger): boolean {
  return levelValue(log) <= LEVEL_VALUES.info!;
}

export function registerRequestLog(app: FastifyInstance, metrics: Metrics): void {
  registerBodyMeter(app);
  // Hooks on every request are synchronous (callback style): an async hook costs a promise and a
  // microtask turn per request, which shows on the metadata GET benchmark.
  // Skip building a line when the configured level would drop it anyway.
  const infoWanted = logsRequestLines(app.log);
  const debugWanted = levelValue(app.log) <= LEVEL_VALUES.debug!;
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.raw.once('close', () => requestDone(request, reply));
    done();
  });

  function requestDone(request: FastifyRequest, reply: FastifyReply): void {
    const response = reply.raw;
    const route = request.routeOptions.url ?? 'unmatched';
    const meter = request.bodyMeter;
    if (meter?.pending) {
      // A sendfile call was in flight when the connection closed: its bytes count once it returns.
      const settled = () => requestDone(request, reply);
      void meter.pending.then(settled, settled);
      meter.pending = null;
      return;
    }
    // writableEnded: the whole answer was handed to the connection. A metered body that was passed
    // on to its last byte also counts as complete: that is the client that closes right after it.
    const aborted = !response.writableEnded && !(meter !== null && meter.bytes === meter.expected);
    const status = response.headersSent || !aborted ? reply.statusCode : CLIENT_CLOSED_REQUEST;
    metrics.observeRequest(route, request.method, status, reply.elapsedTime / 1000);
    if (meter !== null) metrics.bytesDownloaded.inc(meter.bytes);

    const debugOnly = POLLED_ROUTES.has(route) && status < 400;
    if (debugOnly ? !debugWanted : !infoWanted) return;
    const line = requestLine({
      method: request.method,
      url: request.url,
      route,
      status,
      ms: reply.elapsedTime,
      aborted,
      bytes: meter?.bytes,
      client: request.ip,
      principal: request.principal,
      userAgent: request.headers['user-agent'],
    });
    if (debugOnly) request.log.debug(line, 'request');
    else request.log.info(line, 'request');
  }
}

export interface RequestFacts {
  method: string;
  url: string;
  route: string;
  status: number;
  ms: number;
  aborted: boolean;
  bytes: number | undefined;
  client: string | undefined;
  principal: Principal | null;
  userAgent: string | undefined;
}

/** The fields of a request's log line (also written by hot-extension-read.ts). */
export function requestLine(facts: RequestFacts) {
  return {
    method: facts.method,
    url: redactSignature(facts.url),
    route: facts.route,
    status: facts.status,
    ms: Math.round(facts.ms * 10) / 10,
    aborted: facts.aborted,
    bytes: facts.bytes,
    client: facts.client,
    user: facts.principal?.userId,
    key: facts.principal?.keyId ?? undefined,
    userAgent: facts.userAgent,
  };
}
