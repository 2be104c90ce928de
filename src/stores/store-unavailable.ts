// A store that cannot be reached is not a bug of ours: PostgreSQL or S3 refused the connection, timed
// out or dropped it. The network stores classify such failures here, at their boundary, as one
// error type; the HTTP error handler answers it with 503 and Retry-After (clients and load
// balancers retry a 503, not a 500). Anything else a store throws stays what it was.

/** Which store failed, in words an operator can act on (never an address or a credential). */
export type StoreKind = 'metadata' | 'files';

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  constructor(
    readonly store: StoreKind,
    cause: unknown,
  ) {
    super(`the ${store === 'metadata' ? 'metadata store (PostgreSQL)' : 'file store (S3)'} is unavailable: ${describe(cause)}`, {
      cause,
    });
  }
}

function describe(cause: unknown): string {
  const failure = cause as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (typeof failure?.code === 'string' && failure.code !== '') return failure.code;
  if (typeof failure?.name === 'string' && failure.name !== 'Error') return failure.name;
  return typeof failure?.message === 'string' ? failure.message : String(cause);
}

/** Socket-level failures Node reports by code: the peer is down, unreachable or went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const NETWORK_MESSAGES = [/socket hang up/i, /connection terminated/i, /timeout exceeded when trying to connect/i, /not queryable/i];

/** True for a failure of the connection itself (also inside an AggregateError of several attempts). */
export function isNetworkFailure(error: unknown): boolean {
  const failure = error as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown } | null;
  if (failure === null || typeof failure !== 'object') return false;
  if (typeof failure.code === 'string' && NETWORK_CODES.has(failure.code)) return true;
  if (typeof failure.message === 'string' && NETWORK_MESSAGES.some((pattern) => pattern.test(failure.message as string))) return true;
  if (Array.isArray(failure.errors) && failure.errors.some(isNetworkFailure)) return true;
  return failure.cause !== undefined && failure.cause !== error && isNetworkFailure(failure.cause);
}

/**
 * PostgreSQL SQLSTATEs of an unavailable server: class 08 (connection exception), 57P01–57P03 (the
 * server is shutting down, crashed or is starting), 53300 (too many connections) and 57014 (a
 * statement cancelled by statement_timeout: the database did not answer in time).
 */
function isUnavailablePostgresState(code: unknown): boolean {
  return typeof code === 'string' && (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '57014'].includes(code));
}

/** The error to throw for a failed PostgreSQL call: StoreUnavailableError for an outage, else the error itself. */
export function classifyPostgresError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (isNetworkFailure(error) || isUnavailablePostgresState(code)) return new StoreUnavailableError('metadata', error);
  return error;
}

/**
 * The error to throw for a failed S3 call: StoreUnavailableError for network failures, SDK timeouts
 * and 5xx answers (InternalError, ServiceUnavailable, SlowDown), except 501 Not Implemented, which
 * is a missing feature of an S3-compatible server and is handled where it matters.
 */
export function classifyS3Error(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const failure = error as { name?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  const status = failure?.$metadata?.httpStatusCode;
  const serverFault = status !== undefined && status >= 500 && status !== 501;
  const timedOut = failure?.name === 'TimeoutError' || failure?.name === 'RequestTimeout';
  if (isNetworkFailure(error) || serverFault || timedOut) return new StoreUnavailableError('files', error);
  return error;
}
