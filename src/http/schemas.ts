// Route schemas, derived from Elastic's definitions (src/http/spec.ts).
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

export const extensionIdParams = {
  type: 'object',
  required: ['extension_id'],
  properties: { extension_id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;
