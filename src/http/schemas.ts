// Route schemas, derived from Elastic's definitions (src/http/spec.ts).
import { RESERVED_USER_NAMES, USER_NAME, USER_TEXT_MAX } from '../auth/user-service.js';
import { ROLES } from '../domain/principal.js';
import { apiError } from '../errors.js';
import { definitionSchema } from './spec.js';

type JsonObject = { [key: string]: unknown };

function withExtraFileField(extension: JsonObject): JsonObject {
  // We also expose the sha256 we computed; Go clients ignore unknown fields (docs/client-compatibility.md, "What the Go clients send and accept").
  const properties = extension.properties as Record<string, JsonObject>;
  const fileMetadata = properties.file_metadata as JsonObject;
  return {
    ...extension,
    properties: {
      ...properties,
      file_metadata: {
        ...fileMetadata,
        properties: { ...(fileMetadata.properties as JsonObject), sha256: { type: 'string' } },
      },
    },
  };
}

export const extensionSchema = withExtraFileField(definitionSchema('Extension'));
export const createExtensionRequestSchema = definitionSchema('CreateExtensionRequest');
export const updateExtensionRequestSchema = definitionSchema('UpdateExtensionRequest');

/** ECE's LoginRequest; a user name is never empty (the spec says only "string"). */
export const loginRequestSchema = withMinLength(definitionSchema('LoginRequest'), 'username');
export const deleteApiKeysRequestSchema = definitionSchema('DeleteApiKeysRequest');
export const deleteUsersApiKeysRequestSchema = definitionSchema('DeleteUsersApiKeysRequest');

/**
 * ECE's CreateApiKeyRequest, held to what extrepo accepts: a description that is not blank and at
 * most 255 characters, an expiration that is a duration (or null, or '' for none), and role
 * assignments (or null) whose platform and deployment scopes name ECE platform roles by role_id, the
 * only part of an assignment extrepo reads (so a deployment assignment needs no organization_id, and
 * the organization and project scopes, which self-hosted ECE lacks, are not checked).
 */
export const createApiKeyRequestSchema = createApiKeyRequest(definitionSchema('CreateApiKeyRequest'));

function createApiKeyRequest(definition: JsonObject): JsonObject {
  const properties = definition.properties as Record<string, JsonObject>;
  const assignments = properties.role_assignments as JsonObject;
  const platform = (assignments.properties as Record<string, JsonObject>).platform as JsonObject;
  const item = platform.items as JsonObject;
  const roleId = (item.properties as Record<string, JsonObject>).role_id;
  const scope = { ...platform, items: { ...item, properties: { role_id: { ...roleId, enum: ROLES } } } };
  return {
    ...definition,
    properties: {
      description: { ...properties.description, minLength: 1, maxLength: 255, pattern: '\\S' },
      expiration: { ...properties.expiration, type: ['string', 'null'], format: 'extrepo-duration' },
      role_assignments: { ...assignments, type: ['object', 'null'], properties: { platform: scope, deployment: scope } },
    },
  };
}

/**
 * ECE's User as POST /users takes it: the fields extrepo reads, held to what it accepts (a user name
 * it can route, builtin never true, names up to 1024 characters or null); the rest of a User
 * (metadata, permissions, security_realm…) is accepted and ignored, as it always was.
 */
export const createUserSchema = userSchema(true);

/**
 * A JSON Merge Patch of a User (PATCH /users/{user_name}, PATCH /user): null clears a name and resets
 * roles and enabled; user_name, builtin and security.password are the domain's to judge (they are
 * compared with the stored user, or checked after the caller's rights).
 */
export const userPatchSchema = userSchema(false);

function userSchema(create: boolean): JsonObject {
  const user = definitionSchema('User');
  const properties = user.properties as Record<string, JsonObject>;
  const security = properties.security as JsonObject;
  const securityProperties = security.properties as Record<string, JsonObject>;
  const orNull = (schema: JsonObject): JsonObject => (create ? schema : { ...schema, type: [schema.type, 'null'] });
  const text = (schema: JsonObject): JsonObject => ({ ...schema, type: ['string', 'null'], maxLength: USER_TEXT_MAX });
  const checkedSecurity: JsonObject = {
    ...orNull(security),
    properties: {
      roles: orNull(securityProperties.roles as JsonObject),
      enabled: orNull(securityProperties.enabled as JsonObject),
      ...(create ? { password: securityProperties.password } : {}),
    },
    ...(create ? { required: ['password'] } : {}),
  };
  const checked: Record<string, JsonObject> = {
    full_name: text(properties.full_name as JsonObject),
    email: text(properties.email as JsonObject),
    security: checkedSecurity,
  };
  if (!create) return { type: 'object', properties: checked };
  return {
    type: 'object',
    required: user.required,
    properties: {
      user_name: { ...properties.user_name, pattern: USER_NAME.source, not: { enum: [...RESERVED_USER_NAMES] } },
      builtin: { not: { const: true } },
      ...checked,
    },
  };
}

function withMinLength(definition: JsonObject, field: string): JsonObject {
  const properties = definition.properties as Record<string, JsonObject>;
  return { ...definition, properties: { ...properties, [field]: { ...properties[field], minLength: 1 } } };
}

/** A path-parameter schema's object type, derived from the schema (so it cannot drift from it). */
export type ParamsOf<Schema extends { properties: object }> = { [Name in keyof Schema['properties']]: string };

export const extensionIdParams = {
  type: 'object',
  required: ['extension_id'],
  properties: { extension_id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const fileVersionParams = {
  type: 'object',
  required: ['extension_id', 'file_version'],
  properties: {
    extension_id: { type: 'string', minLength: 1, maxLength: 128 },
    file_version: { type: 'string', minLength: 1, maxLength: 32 },
  },
} as const;

export type ExtensionIdParams = ParamsOf<typeof extensionIdParams>;

// The users and keys operations' path parameters, as ECE declares them (plain strings): a schema
// that cannot refuse anything a path holds, there for the route types derived from it.
const pathString = { type: 'string' } as const;

export const userNameParams = { type: 'object', required: ['user_name'], properties: { user_name: pathString } } as const;
export const apiKeyIdParams = { type: 'object', required: ['api_key_id'], properties: { api_key_id: pathString } } as const;
export const userIdParams = { type: 'object', required: ['user_id'], properties: { user_id: pathString } } as const;
export const userApiKeyParams = {
  type: 'object',
  required: ['user_id', 'api_key_id'],
  properties: { user_id: pathString, api_key_id: pathString },
} as const;

export type UserNameParams = ParamsOf<typeof userNameParams>;
export type ApiKeyIdParams = ParamsOf<typeof apiKeyIdParams>;
export type UserIdParams = ParamsOf<typeof userIdParams>;
export type UserApiKeyParams = ParamsOf<typeof userApiKeyParams>;
export type FileVersionParams = ParamsOf<typeof fileVersionParams>;

/** The {file_version} of a path; anything but a whole number is a version that does not exist. */
export function fileVersionNumber(extensionId: string, raw: string): number {
  if (/^[1-9]\d{0,8}$/.test(raw)) return Number(raw);
  throw apiError('notFound', `Extension [${extensionId}] has no file version ${JSON.stringify(raw)}: versions are numbered 1, 2, 3…`);
}
