// Failures that happen before a request reaches a route, rendered as BasicFailedReply like every
// other answer (the Go clients decode nothing else, docs/client-compatibility.md, "Status codes and error bodies"): what Fastify's router rejects
// (a malformed percent-escape, a path parameter over the limit) and what Node's HTTP parser rejects
// (Content-Length: abc, a request line that is not HTTP, oversized headers, a header timeout).
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { apiError, toBasicFailedReply, type ApiError } from '../../errors.js';
import { sendApiError } from './error-replies.js';

/**
 * The longest path parameter routed. User names are up to 255 characters, and a client may
 * percent-encode every one of them (3 bytes each); Fastify's default of 100 made long names
 * unmanageable (issue 9.3). Anything longer cannot name anything and is 414.
 */
export const MAX_PATH_PARAM_LENGTH = 1024;

export function overlongParameter(): ApiError {
  return apiError('uriTooLong', `A path parameter is longer than ${MAX_PATH_PARAM_LENGTH} bytes; no id or name is that long.`);
}

/** Fastify's `frameworkErrors` option: errors its router raises before any route or hook runs. */
export function frameworkErrorReply(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // Neither message echoes the path: it may be kilobytes long, and it is the client's own input.
  let answer: ApiError;
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    answer = overlongParameter();
  } else if (error.code === 'FST_ERR_BAD_URL') {
    answer = apiError('invalidRequest', 'The path is not a valid URL: it has a malformed percent-escape (% must be followed by two hex digits).');
  } else {
    answer = apiError('invalidRequest', 'The request cannot be routed.');
  }
  reply.header('x-request-id', request.id);
  sendApiError(reply, answer);
}

const PARSER_MESSAGES: Record<string, string> = {
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length must be a whole number of bytes, given once.',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'A request may not have both Content-Length and Transfer-Encoding: chunked.',
  HPE_INVALID_TRANSFER_ENCODING: 'Transfer-Encoding must be chunked (or absent).',
  HPE_INVALID_CHUNK_SIZE: 'The chunked body is malformed: a chunk size is not a hex number.',
  HPE_INVALID_METHOD: 'The request line does not start with an HTTP method.',
  HPE_INVALID_URL: 'The request target is not a valid URL path.',
  HPE_INVALID_VERSION: 'The request line does not end with HTTP/1.1 or HTTP/1.0.',
  HPE_INVALID_HEADER_TOKEN: 'A header name or value has characters HTTP does not allow.',
};

/** What Node's parser reported, as the answer the client gets. */
export function parserErrorOf(error: NodeJS.ErrnoException): ApiError {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return apiError('requestTimeout', 'The request headers did not arrive in time (EXTREPO_HEADERS_TIMEOUT_MS).');
    case 'HPE_HEADER_OVERFLOW':
      return apiError('headersTooLarge', 'The request headers are larger than the server accepts (16 KiB in all).');
  }
  const known = error.code === undefined ? undefined : PARSER_MESSAGES[error.code];
  return apiError('invalidRequest', `The request is not valid HTTP/1.1: ${known ?? `the parser reports ${error.code ?? 'an error'}.`}`);
}

/** A whole HTTP/1.1 response carrying `answer`, for a socket no Fastify reply exists for; it closes. */
export function rawFailedReply(answer: ApiError, extraHeaders = ''): string {
  const body = JSON.stringify(toBasicFailedReply(answer));
  return (
    `HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status] ?? ''}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `x-cloud-error-codes: ${answer.code}\r\n${extraHeaders}` +
    `Connection: close\r\n\r\n${body}`
  );
}

/** Fastify's `clientErrorHandler` option: answers on the bare socket, then closes it. */
export function clientErrorReply(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // As Node's own handler: no answer where a response is already on its way on this socket.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) socket.write(rawFailedReply(parserErrorOf(error)));
  socket.destroy();
}
