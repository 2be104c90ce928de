// Elastic's Swagger 2.0 document for the extensions API, shipped in spec/ (Apache-2.0, see
// spec/NOTICE.md). It is the one source of the request/response shapes: route schemas are taken
// from its definitions rather than written a second time.
import { readFileSync } from 'node:fs';

export const SPEC_PATH = new URL('../../spec/ece-extensions.swagger.json', import.meta.url);

type JsonObject = { [key: string]: unknown };

/**
 * Further parts of the served document: Elastic's users/auth extract, our own /audit, and our
 * browse parameters of the extensions list (an operation of Elastic's, extended: see mergeSpecs).
 */
export const SPEC_PARTS = [
  new URL('../../spec/ece-users.swagger.json', import.meta.url),
  new URL('../../spec/extrepo-audit.swagger.json', import.meta.url),
  new URL('../../spec/extrepo-extensions-browse.swagger.json', import.meta.url),
];

/** The served document: the extensions extract with the paths, tags and definitions of SPEC_PARTS. */
export const swaggerDocument: JsonObject = mergeSpecs(
  [SPEC_PATH, ...SPEC_PARTS].map((url) => JSON.parse(readFileSync(url, 'utf8')) as JsonObject),
);

function mergeSpecs([base, ...parts]: JsonObject[]): JsonObject {
  const merged = structuredClone(base!);
  const tags = merged.tags as Array<{ name: string }>;
  const paths = merged.paths as JsonObject;
  const defs = merged.definitions as JsonObject;
  for (const part of parts) {
    for (const tag of (part.tags ?? []) as Array<{ name: string }>) {
      if (!tags.some((known) => known.name === tag.name)) tags.push(tag);
    }
    for (const [path, item] of Object.entries(part.paths as JsonObject)) {
      if (path in paths) {
        extendOperations(path, paths[path] as JsonObject, item as JsonObject);
        continue;
      }
      paths[path] = item;
    }
    for (const [name, definition] of Object.entries(part.definitions as JsonObject)) {
      if (name in defs && JSON.stringify(defs[name]) !== JSON.stringify(definition)) {
        throw new Error(`spec definition ${name} differs between the extracts`);
      }
      defs[name] = definition;
    }
  }
  return merged;
}

/**
 * An existing operation that a part marks `x-extrepo-addition` gains the part's parameters, and its
 * description is followed by the part's: Elastic's text stays as it is, ours is said to be ours.
 */
function extendOperations(path: string, target: JsonObject, part: JsonObject): void {
  for (const [method, operation] of Object.entries(part)) {
    const addition = operation as JsonObject;
    const existing = target[method] as JsonObject | undefined;
    if (existing === undefined || addition['x-extrepo-addition'] !== true) {
      throw new Error(`spec path ${path} is defined twice`);
    }
    const { 'x-extrepo-addition': _marker, description, parameters, ...rest } = addition;
    if (Object.keys(rest).length > 0) throw new Error(`spec addition to ${method} ${path} may only add parameters and a description`);
    existing.parameters = [...((existing.parameters as unknown[]) ?? []), ...((parameters as unknown[]) ?? [])];
    if (typeof description === 'string') {
      existing.description = existing.description ? `${String(existing.description)}\n\n${description}` : description;
    }
  }
}

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
