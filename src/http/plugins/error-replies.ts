// Renders every failure as Elastic's BasicFailedReply with the x-cloud-error-codes header: our own
// ApiErrors, Fastify's parser and validation errors, unknown routes and wrong methods alike. The Go
// clients decode error bodies only as BasicFailedReply (docs/client-compatibility.md, "Status codes and error bodies"), so nothing else may leak.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, apiError, toBasicFailedReply } from '../../errors.js';
import { StoreUnavailableError } from '../../stores/store-unavailable.js';
import { isStorageFull } from '../../stores/storage-full.js';

/** Seconds a client should wait before retrying a request that met a store outage. */
export const STORE_OUTAGE_RETRY_AFTER_SECONDS = 5;

/** 503 with Retry-After: the request may succeed once the store is back, without any change. */
export function storeUnavailable(error: StoreUnavailableError): ApiError {
  const which = error.store === 'metadata' ? 'metadata store (PostgreSQL)' : 'file store (S3)';
  return apiError('unavailable', `The ${which} is unavailable; retry in a few seconds. The outage has been logged.`, {
    headers: { 'retry-after': String(STORE_OUTAGE_RETRY_AFTER_SECONDS) },
    cause: error,
  });
}

export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  reply.code(error.status).header('x-cloud-error-codes', error.code).type('application/json; charset=utf-8');
  if (error.headers) reply.headers(error.headers);
  return reply.send(toBasicFailedReply(error));
}

export interface ValidationIssue {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: { missingProperty?: string; allowedValues?: unknown[] };
}

/** The dotted field a schema issue is about ('' for the body itself). */
export function fieldOf(issue: ValidationIssue): string {
  const path = (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = issue.params?.missingProperty;
  if (missing) return path ? `${path}.${missing}` : missing;
  return path;
}

function describeIssue(issue: ValidationIssue): string {
  const field = fieldOf(issue);
  const allowed = issue.params?.allowedValues;
  if (issue.params?.missingProperty) return `${field} is required`;
  if (allowed) return `${field} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  return field ? `${field} ${issue.message ?? 'is invalid'}` : `the body ${issue.message ?? 'is invalid'}`;
}

/** Translates whatever was thrown into the ApiError the client will see. */
export function toApiError(error: FastifyError | Error): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreUnavailableError) return storeUnavailable(error);
  const fastifyError = error as FastifyError & { validation?: ValidationIssue[] };
  if (fastifyError.validation) {
    const issues = fastifyError.validation;
    const fields = [...new Set(issues.map(fieldOf).filter((f) => f !== ''))];
    return apiError('invalidJson', `JSON request does not comply with schema: ${issues.map(describeIssue).join('; ')}.`, {
      fields,
    });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return apiError('unsupportedMediaType', `Unsupported Content-Type; this operation takes application/json.`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return apiError('payloadTooLarge', 'The JSON body is larger than the limit set by EXTREPO_MAX_JSON_BYTES.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return apiError('invalidJson', 'The request body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return apiError('invalidRequest', 'Content-Length does not match the body that was sent.');
  }
  if (error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return apiError('invalidJson', `The request body is not valid JSON: ${error.message}`);
  }
  if (isStorageFull(error)) {
    // Disk full under the embedded stores: the client's request was fine, and a retry once space is
    // freed will succeed (issue 9.5).
    return apiError('insufficientStorage', "The server's storage is full; nothing was changed. Retry once an operator has freed space.", {
      cause: error,
    });
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return apiError('invalidRequest', error.message);
  }
  return apiError('internal', 'An unexpected error occurred; it has been logged with the request id.', { cause: error });
}

export function registerErrorReplies(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiErr = toApiError(error);
    if (error instanceof StoreUnavailableError) {
      // One line per failed request, with the cause (address included) for the operator only.
      request.log.warn({ store: error.store, err: error.cause }, error.message);
    } else if (apiErr.status >= 500) {
      request.log.error({ err: error }, 'request failed');
    }
    return sendApiError(reply, apiErr);
  });
  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, apiError('routeNotFound', `There is no ${request.method} ${request.url.split('?')[0]} endpoint.`)),
  );
}

/** Answers 405 on a known path for the methods it does not implement. */
export function registerMethodNotAllowed(app: FastifyInstance, url: string, allowed: string[]): void {
  const all = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
  const others = all.filter((method) => !allowed.includes(method) && !(method === 'HEAD'));
  app.route({
    method: others,
    url,
    handler: async (request, reply) =>
      sendApiError(
        reply,
        apiError('methodNotAllowed', `${request.method} is not allowed on this path; use ${allowed.join(', ')}.`, {
          headers: { allow: allowed.join(', ') },
        }),
      ),
  });
}
