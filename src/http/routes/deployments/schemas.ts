// Request schemas of the deployment operations, from ECE's definitions (spec/ece-deployments.swagger.json).
// Responses get none: Fastify's serializer would drop plan fields the schema does not list, and the
// stored plan must come back verbatim.
import type { ParamsOf } from '../../schemas.js';
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

/**
 * The parts of a definition that extrepo reads, still in ECE's words: `keep` names the properties
 * to check (true: the property's own definition in full; an object: recurse into it, keeping only
 * those), everything else in the body is accepted unchecked and kept verbatim. Checking all of
 * ECE's nested definitions would be pointless (extrepo interprets none of them) and costly: Ajv
 * needs seconds to compile the full DeploymentCreateRequest, which would slow every start.
 */
type Keep = { [property: string]: true | Keep };

function resolve(node: unknown): Record<string, unknown> {
  const source = node as Record<string, unknown>;
  return typeof source.$ref === 'string' ? resolve(definitions[source.$ref.replace('#/definitions/', '')]) : source;
}

function pruned(node: unknown, keep: Keep): Record<string, unknown> {
  const definition = resolve(node);
  if (definition.type === 'array') return { type: 'array', items: pruned(definition.items, keep) };
  const properties = (definition.properties ?? {}) as Record<string, unknown>;
  const result: Record<string, unknown> = { type: 'object', properties: {} as Record<string, unknown> };
  for (const [name, rule] of Object.entries(keep)) {
    const property = properties[name];
    if (property === undefined) throw new Error(`spec: no property ${name}`);
    (result.properties as Record<string, unknown>)[name] = rule === true ? requestSchema(property) : pruned(property, rule);
  }
  if (Array.isArray(definition.required)) result.required = definition.required;
  return result;
}

const elasticsearchPayload: Keep = {
  ref_id: true,
  region: true,
  display_name: true,
  plan: {
    cluster_topology: {},
    elasticsearch: { version: true, user_plugins: true, user_bundles: true },
  },
};

export const deploymentCreateRequestSchema = pruned(definitions.DeploymentCreateRequest, {
  name: true,
  alias: true,
  metadata: true,
  resources: { elasticsearch: elasticsearchPayload, kibana: {}, apm: {}, appsearch: {}, enterprise_search: {}, integrations_server: {} },
});
export const deploymentUpdateRequestSchema = pruned(definitions.DeploymentUpdateRequest, {
  name: true,
  alias: true,
  prune_orphans: true,
  metadata: true,
  resources: { elasticsearch: elasticsearchPayload, kibana: {}, apm: {}, appsearch: {}, enterprise_search: {}, integrations_server: {} },
});

export const deploymentIdParams = {
  type: 'object',
  required: ['deployment_id'],
  properties: { deployment_id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export type DeploymentIdParams = ParamsOf<typeof deploymentIdParams>;
