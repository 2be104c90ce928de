// GET /api/v1/deployments/extensions/{id}, answered straight from memory before Fastify's
// per-request machinery runs: when a deployment rolls out, every node asks for its extensions at
// once, and for a kept 500-byte answer Fastify's request and reply objects, child logger and eight
// hooks cost more than the work itself (docs/benchmarks.md, session 11).
//
// It answers only what it can answer exactly as the route would, byte for byte and with the same
// request log line and metrics: a GET of that path without a query string or a body, from a caller
// the authentication cache recalls, for an extension the embedded store holds in memory and the
// caller may see, whose serialized answer the route has already kept for the current signed link.
// Anything else (a first read, a changed extension, an unknown caller, a 404, a HEAD, a server that
// is starting or closing) takes the ordinary route, which also keeps the answer for next time.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { masksDownloadUrl, maySee, type Principal } from '../domain/principal.js';
import { resourceHeaders } from '../domain/extension-view.js';
import type { ExtensionRecord } from '../stores/metadata-store.js';
import type { KeptExtensionAnswers } from './kept-extension-answers.js';
import { requestLine } from './plugins/request-log.js';
import type { Metrics } from './plugins/metrics.js';

const PREFIX = '/api/v1/deployments/extensions/';
const ROUTE = '/api/v1/deployments/extensions/:extension_id';
// Ids that need no percent-decoding, within the route's own length limit.
const PLAIN_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface HotReadDeps {
  recall(authorization: string): Principal | undefined;
  peekExtension(id: string): ExtensionRecord | undefined;
  answers: KeptExtensionAnswers;
  fileUrl(record: ExtensionRecord): string | null;
  requestId(request: IncomingMessage): string;
  clientAddress(request: IncomingMessage): string | undefined;
  /** The connection cap's bookkeeping: this connection has proved its credentials. */
  authenticated(socket: Socket): void;
  metrics: Metrics;
  /** Set when request lines are logged (info level): the server's logger. */
  log: FastifyBaseLogger | null;
}

export class HotExtensionRead {
  private ready = false;
  private held = false;
  private closing = false;
  /** Answers given (tests read it to tell the lane's answers from the route's). */
  served = 0;

  constructor(private readonly deps: HotReadDeps) {}

  /** Fastify is ready (its onReady hook). */
  markReady(): void {
    this.ready = true;
  }

  /** While held (the server's start is not finished), every request takes the ordinary route. */
  hold(held: boolean): void {
    this.held = held;
  }

  /** The server is closing: the ordinary route answers 503. */
  markClosing(): void {
    this.closing = true;
  }

  /** Answers the request and returns true, or returns false having touched nothing. */
  answer(request: IncomingMessage, response: ServerResponse): boolean {
    if (!this.ready || this.held || this.closing || request.method !== 'GET') return false;
    const url = request.url;
    if (url === undefined || !url.startsWith(PREFIX)) return false;
    const id = url.slice(PREFIX.length);
    if (!PLAIN_ID.test(id)) return false;
    const headers = request.headers;
    const authorization = headers.authorization;
    if (authorization === undefined || headers['transfer-encoding'] !== undefined || headers.expect !== undefined) return false;
    const length = headers['content-length'];
    if (length !== undefined && length !== '0') return false;

    const deps = this.deps;
    const principal = deps.recall(authorization);
    if (principal === undefined) return false;
    const record = deps.peekExtension(id);
    if (record === undefined || !maySee(principal, record.ownerId)) return false;
    const body = deps.answers.get(record, deps.fileUrl(record), masksDownloadUrl(principal, record));
    if (body === undefined) return false;

    const started = performance.now();
    const requestId = deps.requestId(request);
    deps.authenticated(request.socket);
    const resource = resourceHeaders(record);
    // The ordinary reply's headers, in its order (Node adds Date, Connection and Keep-Alive).
    response.writeHead(200, [
      'x-request-id',
      requestId,
      'x-cloud-resource-version',
      resource['x-cloud-resource-version']!,
      'x-cloud-resource-created',
      resource['x-cloud-resource-created']!,
      'x-cloud-resource-last-modified',
      resource['x-cloud-resource-last-modified']!,
      'content-type',
      'application/json; charset=utf-8',
      'content-length',
      String(Buffer.byteLength(body)),
    ]);
    response.end(body);
    this.served++;
    response.once('close', () => this.done(request, response, requestId, principal, started));
    return true;
  }

  private done(request: IncomingMessage, response: ServerResponse, requestId: string, principal: Principal, started: number): void {
    const ms = performance.now() - started;
    this.deps.metrics.observeRequest(ROUTE, 'GET', 200, ms / 1000);
    const log = this.deps.log;
    if (log === null) return;
    const line = requestLine({
      method: 'GET',
      url: request.url!,
      route: ROUTE,
      status: 200,
      ms,
      aborted: !response.writableEnded,
      bytes: undefined,
      client: this.deps.clientAddress(request),
      principal,
      userAgent: request.headers['user-agent'],
    });
    log.info({ reqId: requestId, ...line }, 'request');
  }
}

/**
 * Puts `hot` in front of Fastify on its server: Fastify's request handler is the server's one
 * 'request' listener (it created the server with it), and it now runs only for what `hot` does not
 * answer. Fastify's server itself (its timeouts, TLS, bindings, closing) stays as Fastify made it.
 */
export function putInFront(server: EventEmitter, hot: HotExtensionRead): void {
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) throw new Error(`expected Fastify's one request listener, found ${listeners.length}`);
  const fastifyHandler = listeners[0]!;
  server.removeListener('request', fastifyHandler);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (!hot.answer(request, response)) fastifyHandler(request, response);
  });
}
