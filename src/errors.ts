// Every error the API can answer, declared once. The code strings are Elastic's (see spec/ and
// docs/client-compatibility.md, "Error codes"): clients match on them, so they never change and are never reused.

export interface ErrorDefinition {
  readonly status: number;
  readonly code: string;
}

export const ERRORS = {
  // Extensions (declared in the ECE spec)
  requestExecutionFailed: { status: 400, code: 'extensions.request_execution_failed' },
  notFound: { status: 404, code: 'extensions.not_found' },
  unauthorised: { status: 401, code: 'extensions.unauthorised' },
  idAlreadyExists: { status: 409, code: 'extensions.id_already_exists' },
  versionConflict: { status: 409, code: 'extensions.version_conflict' },
  // Documented by Elastic only in prose (D1): delete of an extension a deployment plan references.
  extensionInUse: { status: 400, code: 'extensions.extension_in_use' },
  /**
   * Ours: a signed link whose extension still references a blob the file store no longer holds (an
   * integrity fault: lost or deleted behind our back). 404, not 503: retrying cannot bring the bytes
   * back, only an operator can (restore the blob or upload the file again).
   */
  fileMissing: { status: 404, code: 'extensions.file_missing' },

  // Platform-wide codes ECE uses on every API
  invalidJson: { status: 400, code: 'root.invalid_json_request' },
  invalidRequest: { status: 400, code: 'root.invalid_request' },
  unauthenticated: { status: 401, code: 'root.unauthenticated' },
  forbidden: { status: 403, code: 'root.unauthorized.rbac' },
  forbiddenLink: { status: 403, code: 'root.forbidden' },
  routeNotFound: { status: 404, code: 'root.resource_not_found' },
  methodNotAllowed: { status: 405, code: 'root.method_not_allowed' },
  payloadTooLarge: { status: 413, code: 'root.payload_too_large' },
  unsupportedMediaType: { status: 415, code: 'root.unsupported_media_type' },
  rangeNotSatisfiable: { status: 416, code: 'root.range_not_satisfiable' },
  tooManyRequests: { status: 429, code: 'root.too_many_requests' },
  unavailable: { status: 503, code: 'root.service_unavailable' },
  internal: { status: 500, code: 'root.unexpected_error' },
  /** _refresh with a token that is invalid or expired (ECE's spec declares this code there). */
  tokenInvalid: { status: 401, code: 'root.unauthorized' },

  // Users and API keys (declared by ECE's users and authentication operations, apidocs-full.json)
  userNotFound: { status: 404, code: 'user.not_found' },
  userNameInvalid: { status: 400, code: 'user.user_name.invalid' },
  userNameConflict: { status: 409, code: 'user.user_name.conflict' },
  rolesInvalid: { status: 400, code: 'user.roles.invalid' },
  restrictedField: { status: 400, code: 'user.restricted_field' },
  restrictedDeletion: { status: 400, code: 'user.restricted_deletion' },
  /** Ours: ECE declares no code for a password that fails the policy. */
  passwordInvalid: { status: 400, code: 'user.password.invalid' },
  keyInvalidInput: { status: 400, code: 'api_keys.invalid_input' },
  keyNotFound: { status: 404, code: 'api_keys.key_not_found' },
  keyUserNotFound: { status: 404, code: 'api_keys.user_not_found' },

  // Ours, for answers ECE's spec has no code for. Named like ECE's platform-wide codes (`root.` and
  // the HTTP status's reason phrase in snake case), so a client that matches on `root.*` still does.
  /** The request (headers, JSON body, or an upload that stopped moving) did not arrive in time. */
  requestTimeout: { status: 408, code: 'root.request_timeout' },
  /** A path parameter longer than any valid one (RFC 9110 "URI Too Long"). */
  uriTooLong: { status: 414, code: 'root.uri_too_long' },
  /** Request headers beyond Node's size limit (RFC 6585 "Request Header Fields Too Large"). */
  headersTooLarge: { status: 431, code: 'root.request_headers_too_large' },
  /** The disk under the data directory (blobs or SQLite) is full (RFC 4918 "Insufficient Storage"). */
  insufficientStorage: { status: 507, code: 'root.insufficient_storage' },
  // Deployments (declared by ECE's deployment operations, apidocs-full.json)
  deploymentNotFound: { status: 404, code: 'deployments.deployment_not_found' },
  /** ECE declares the delete's 400 without a code; this is the code its spec gives "not shut down". */
  deploymentNotShutdown: { status: 400, code: 'deployments.resource_not_shutdown' },
  /** ECE's "The cluster definition contained errors": a plan's extension references. */
  invalidPlan: { status: 400, code: 'clusters.cluster_invalid_plan' },
  /** Ours: ECE's update declares ?version= but no code for a mismatch. */
  deploymentVersionConflict: { status: 409, code: 'deployments.version_conflict' },
  restrictedParameter: { status: 400, code: 'deployments.restricted_parameter' },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorName = keyof typeof ERRORS;

/** The one error type of the HTTP API; the error handler renders it as a `BasicFailedReply`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: string[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(definition: ErrorDefinition, message: string, options: { fields?: string[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ApiError';
    this.status = definition.status;
    this.code = definition.code;
    this.fields = options.fields;
    this.headers = options.headers;
  }
}

export function apiError(
  name: ErrorName,
  message: string,
  options?: { fields?: string[]; headers?: Record<string, string>; cause?: unknown },
): ApiError {
  return new ApiError(ERRORS[name], message, options);
}

export interface BasicFailedReply {
  errors: Array<{ code: string; message: string; fields?: string[] }>;
}

export function toBasicFailedReply(error: ApiError): BasicFailedReply {
  const element: { code: string; message: string; fields?: string[] } = {
    code: error.code,
    message: error.message,
  };
  if (error.fields && error.fields.length > 0) element.fields = error.fields;
  return { errors: [element] };
}
