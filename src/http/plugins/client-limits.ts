// What a slow or idle client may hold (issue 9.2). Without these, 2,000 connections trickling a
// _login body one byte at a time stay open forever and exhaust the open-file limit, and an upload
// sending a byte every 2 s is never closed.
//   - headers: Node's own headersTimeout (its parser answers 408 through protocol-errors.ts);
//   - a JSON body: the whole of it within bodyTimeoutMs;
//   - an upload: a minimum transfer rate, averaged over a window, rather than a deadline, so that a
//     slow but moving 8 GiB upload still finishes (Apache's mod_reqtimeout MinRate, the same idea);
//   - connections that have not authenticated: a cap; beyond it a new connection is answered 503
//     and closed, so /healthz and authenticated clients keep their file descriptors.
// Every refusal is a BasicFailedReply followed by closing the connection (its body is unread).
import type http from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import { apiError } from '../../errors.js';
import { rawFailedReply } from './protocol-errors.js';

/** Options for http.createServer (Fastify's `http` option). */
export function serverTimeouts(config: Config): http.ServerOptions {
  return {
    headersTimeout: config.headersTimeoutMs,
    // Node's requestTimeout would bound uploads too; the body limits below are per kind of request.
    requestTimeout: 0,
    // How often Node checks headersTimeout (default 30 s, which would make a 20 s timeout up to 50).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
  };
}

/** Bounds the time a JSON body may take to arrive; `streamsBody` routes (uploads) are exempt. */
export function registerBodyTimeout(
  app: FastifyInstance,
  bodyTimeoutMs: number,
  streamsBody: (method: string, route: string | undefined) => boolean,
): void {
  app.addHook('preParsing', (request, reply, payload, done) => {
    const headers = request.headers;
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    if (!hasBody || streamsBody(request.method, request.routeOptions.url)) {
      done(null, payload);
      return;
    }
    // A stage of our own between the socket and the parser, so a late body can be failed with an
    // answer: destroying the request itself would close the socket without one.
    const guarded = new PassThrough();
    const timer = setTimeout(() => {
      payload.unpipe(guarded);
      reply.header('connection', 'close');
      guarded.destroy(apiError('requestTimeout', `The request body did not arrive within ${bodyTimeoutMs} ms (EXTREPO_BODY_TIMEOUT_MS).`));
    }, bodyTimeoutMs);
    timer.unref();
    const stop = () => clearTimeout(timer);
    guarded.once('end', stop);
    guarded.once('close', stop);
    // Answered without reading the body (401, 404, 415…): nothing waits for it any more.
    reply.raw.once('close', stop);
    // A failure nobody reads (the answer went out first) must not become an uncaught exception.
    guarded.on('error', () => undefined);
    payload.on('error', (error) => guarded.destroy(error));
    payload.pipe(guarded);
    done(null, guarded);
  });
}

/**
 * Passes an upload's bytes through, failing with 408 when the client sends fewer than
 * minBytesPerSecond, averaged over windowMs of time in which the server was waiting for it. Time in
 * which the server itself was slow to take the bytes (the stream downstream was full) is not held
 * against the client. Stops watching once `response` is closed.
 */
export function guardUploadRate(source: Readable, minBytesPerSecond: number, windowMs: number, response: http.ServerResponse): Readable {
  if (minBytesPerSecond === 0) return source;
  let bytes = 0;
  let waitedMs = 0;
  const tickMs = Math.max(10, Math.floor(windowMs / 10));
  const guard = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const timer = setInterval(() => {
    const downstreamFull = guard.readableLength >= guard.readableHighWaterMark || guard.writableLength > 0;
    if (downstreamFull) return;
    waitedMs += tickMs;
    if (waitedMs < windowMs) return;
    if (bytes * 1000 < minBytesPerSecond * waitedMs) {
      clearInterval(timer);
      guard.destroy(
        apiError(
          'requestTimeout',
          `The upload slowed below ${minBytesPerSecond} bytes per second over ${windowMs} ms (EXTREPO_UPLOAD_MIN_BYTES_PER_SECOND); nothing was stored.`,
        ),
      );
      return;
    }
    bytes = 0;
    waitedMs = 0;
  }, tickMs);
  timer.unref();
  guard.once('close', () => clearInterval(timer));
  guard.once('end', () => clearInterval(timer));
  // Answered before the file was read (401, 404…): nothing waits for the client any more.
  response.once('close', () => clearInterval(timer));
  // The pipeline reading the guard reports its errors; one after the answer must not crash the process.
  guard.on('error', () => undefined);
  source.once('error', (error) => guard.destroy(error));
  source.pipe(guard);
  return guard;
}

/**
 * Caps the connections on which no request has authenticated yet. Returns what marks a connection
 * authenticated, for requests answered outside Fastify (hot-extension-read.ts).
 */
export function registerConnectionCap(app: FastifyInstance, max: number): (socket: Socket) => void {
  const unauthenticated = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    if (unauthenticated.size >= max) {
      refuseConnection(socket, max);
      return;
    }
    unauthenticated.add(socket);
    socket.once('close', () => unauthenticated.delete(socket));
  });
  // Runs after registerAuthentication's hook: a request with a principal proved its credentials.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.principal !== null) unauthenticated.delete(request.raw.socket);
    done();
  });
  return (socket) => unauthenticated.delete(socket);
}

function refuseConnection(socket: Socket, max: number): void {
  const answer = apiError(
    'unavailable',
    `The server already has ${max} connections that have not authenticated (EXTREPO_MAX_UNAUTHENTICATED_CONNECTIONS); retry shortly.`,
  );
  socket.on('error', () => undefined);
  socket.end(rawFailedReply(answer, 'Retry-After: 1\r\n'));
  socket.destroySoon();
}
