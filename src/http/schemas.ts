// Route schemas, derived from Elastic's definitions (src/http/spec.ts).
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
export type FileVersionParams = ParamsOf<typeof fileVersionParams>;

/** The {file_version} of a path; anything but a whole number is a version that does not exist. */
export function fileVersionNumber(extensionId: string, raw: string): number {
  if (/^[1-9]\d{0,8}$/.test(raw)) return Number(raw);
  throw apiError('notFound', `Extension [${extensionId}] has no file version ${JSON.stringify(raw)}: versions are numbered 1, 2, 3…`);
}
