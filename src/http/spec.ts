// Elastic's Swagger 2.0 document for the extensions API, shipped in spec/ (Apache-2.0, see
// spec/NOTICE.md). It is the one source of the request/response shapes: route schemas are taken
// from its definitions rather than written a second time.
import { readFileSync } from 'node:fs';

export const SPEC_PATH = new URL('../../spec/ece-extensions.swagger.json', import.meta.url);

type JsonObject = { [key: string]: unknown };

export const swaggerDocument: JsonObject = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as JsonObject;

const definitions = swaggerDocument.definitions as Record<string, JsonObject>;

/** A definition as plain JSON Schema: `$ref`s inlined, descriptions and vendor keys dropped. */
export function definitionSchema(name: string): JsonObject {
  const definition = definitions[name];
  if (definition === undefined) throw new Error(`spec has no definition ${name}`);
  return toJsonSchema(definition);
}

function toJsonSchema(node: unknown): JsonObject {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    throw new Error('unexpected schema node');
  }
  const source = node as JsonObject;
  if (typeof source.$ref === 'string') {
    return toJsonSchema(definitions[source.$ref.replace('#/definitions/', '')]);
  }
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'description' || key.startsWith('x-')) continue;
    if (key === 'properties') {
      result.properties = Object.fromEntries(
        Object.entries(value as JsonObject).map(([name, schema]) => [name, toJsonSchema(schema)]),
      );
    } else if (key === 'items') {
      result.items = toJsonSchema(value);
    } else {
      result[key] = value;
    }
  }
  return result;
}
