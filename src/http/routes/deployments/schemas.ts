// Request schemas of the deployment operations, from ECE's definitions (spec/ece-deployments.swagger.json).
// Responses get none: Fastify's serializer would drop plan fields the schema does not list, and the
// stored plan must come back verbatim.
import { swaggerDocument } from '../../spec.js';

const definitions = swaggerDocument.definitions as Record<string, unknown>;

// Swagger 2.0 keywords that are not JSON Schema (example, discriminator, readOnly) and Swagger's own
// formats (int32, int64, float…) would fail Ajv's strict mode; a request is checked on types,
// required properties and enums, which is what ECE's definitions say about requests.
const DROPPED = new Set(['description', 'example', 'discriminator', 'readOnly', 'format', 'title']);

/** A definition as plain JSON Schema with every $ref inlined (ECE's deployment definitions have no cycles). */
function requestSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(requestSchema);
  if (typeof node !== 'object' || node === null) return node;
  const source = node as Record<string, unknown>;
  if (typeof source.$ref === 'string') return requestSchema(definitions[source.$ref.replace('#/definitions/', '')]);
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'properties') {
      result.properties = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, schema]) => [name, requestSchema(schema)]));
    } else if (!DROPPED.has(key) && !key.startsWith('x-')) {
      result[key] = requestSchema(value);
    }
  }
  return result;
}

export const deploymentCreateRequestSchema = requestSchema(definitions.DeploymentCreateRequest) as Record<string, unknown>;
export const deploymentUpdateRequestSchema = requestSchema(definitions.DeploymentUpdateRequest) as Record<string, unknown>;

export const deploymentIdParams = {
  type: 'object',
  required: ['deployment_id'],
  properties: { deployment_id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;
