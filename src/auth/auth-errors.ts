// The error codes of ECE's users, authentication and API-key operations (from apidocs-full.json),
// next to the platform-wide table in src/errors.ts.
import { ApiError, type ErrorDefinition } from '../errors.js';

export const AUTH_ERRORS = {
  userNotFound: { status: 404, code: 'user.not_found' },
  userNameInvalid: { status: 400, code: 'user.user_name.invalid' },
  userNameConflict: { status: 409, code: 'user.user_name.conflict' },
  rolesInvalid: { status: 400, code: 'user.roles.invalid' },
  rolesForbidden: { status: 400, code: 'user.roles.forbidden' },
  restrictedField: { status: 400, code: 'user.restricted_field' },
  restrictedDeletion: { status: 400, code: 'user.restricted_deletion' },
  /** Ours: ECE declares no code for a password that fails the policy. */
  passwordInvalid: { status: 400, code: 'user.password.invalid' },
  keyInvalidInput: { status: 400, code: 'api_keys.invalid_input' },
  keyNotFound: { status: 404, code: 'api_keys.key_not_found' },
  keyUserNotFound: { status: 404, code: 'api_keys.user_not_found' },
  /** _refresh with a token that is invalid or expired. */
  tokenInvalid: { status: 401, code: 'root.unauthorized' },
} as const satisfies Record<string, ErrorDefinition>;

export function authError(
  name: keyof typeof AUTH_ERRORS,
  message: string,
  options?: { fields?: string[]; headers?: Record<string, string> },
): ApiError {
  return new ApiError(AUTH_ERRORS[name], message, options);
}
