// Elastic's Swagger 2.0 document for the extensions API, shipped in spec/ (Apache-2.0, see
// spec/NOTICE.md). It is the one source of the request/response shapes: route schemas are taken
// from its definitions rather than written a second time.
import { readFileSync } from 'node:fs';

export const SPEC_PATH = new URL('../../spec/ece-extensions.swagger.json', import.meta.url);

type JsonObject = { [key: string]: unknown };

/** Further parts of the served document: Elastic's users/auth and deployments extracts, and our own additions (audit, deployments, file versions, browsing the extensions list). */
export const SPEC_PARTS = [
  new URL('../../spec/ece-users.swagger.json', import.meta.url),
  new URL('../../spec/extrepo-audit.swagger.json', import.meta.url),
  new URL('../../spec/ece-deployments.swagger.json', import.meta.url),
  new URL('../../spec/extrepo-deployments.swagger.json', import.meta.url),
  new URL('../../spec/extrepo-file-versions.swagger.json', import.meta.url),
  new URL('../../spec/extrepo-extensions-browse.swagger.json', import.meta.url),
];

/** The served document: the extensions extract with the paths, tags and definitions of SPEC_PARTS. */
export const swaggerDocument: JsonObject = mergeSpecs([SPEC_PATH, ...SPEC_PARTS].map((url) => JSON.parse(readFileSync(url, 'utf8')) as JsonObject));

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
      if (path in paths) throw new Error(`spec path ${path} is defined twice`);
      paths[path] = item;
    }
    for (const [name, definition] of Object.entries(part.definitions as JsonObject)) {
      if (name in defs && JSON.stringify(defs[name]) !== JSON.stringify(definition)) {
        throw new Error(`spec definition ${name} differs between the extracts`);
      }
      defs[name] = definition;
    }
    amendOperations(paths, (part['x-amend-operations'] ?? {}) as JsonObject);
  }
  // An extrepo part may name required properties of Elastic's definitions that extrepo never
  // answers (spec/extrepo-deployments.swagger.json: a registry knows no cluster health), so the
  // served document says what the server really sends; the extracts themselves stay verbatim.
  for (const part of parts) {
    const relaxed = (part['x-extrepo-relaxed-required'] ?? {}) as Record<string, unknown>;
    for (const [name, fields] of Object.entries(relaxed)) {
      if (!Array.isArray(fields)) continue;
      const definition = defs[name] as { required?: string[] } | undefined;
      if (definition === undefined) throw new Error(`x-extrepo-relaxed-required names unknown definition ${name}`);
      definition.required = (definition.required ?? []).filter((field) => !fields.includes(field));
      if (definition.required.length === 0) delete definition.required;
    }
  }
  return merged;
}

/**
 * extrepo's additions to ECE's own operations (a query parameter, an error status), declared by a
 * part under `x-amend-operations` as {path: {method: {description, parameters, responses}}}. Only
 * additions: a parameter or status the operation already declares is an error, and a description
 * follows Elastic's, so Elastic's text is never overwritten.
 */
function amendOperations(paths: JsonObject, amendments: JsonObject): void {
  for (const [path, methods] of Object.entries(amendments)) {
    for (const [method, amendment] of Object.entries(methods as JsonObject)) {
      const operation = (paths[path] as JsonObject | undefined)?.[method] as JsonObject | undefined;
      if (operation === undefined) throw new Error(`spec amendment of ${method} ${path}: no such operation`);
      const {
        description,
        parameters = [],
        responses = {},
      } = amendment as {
        description?: string;
        parameters?: JsonObject[];
        responses?: JsonObject;
      };
      if (description !== undefined) {
        operation.description = operation.description ? `${String(operation.description)}\n\n${description}` : description;
      }
      const declared = (operation.parameters ??= []) as JsonObject[];
      for (const parameter of parameters) {
        if (declared.some((known) => known.name === parameter.name && known.in === parameter.in)) {
          throw new Error(`spec amendment of ${method} ${path}: parameter ${String(parameter.name)} exists`);
        }
        declared.push(parameter);
      }
      const statuses = operation.responses as JsonObject;
      for (const [status, response] of Object.entries(responses)) {
        if (status in statuses) throw new Error(`spec amendment of ${method} ${path}: response ${status} exists`);
        statuses[status] = response;
      }
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
      result.properties = Object.fromEntries(Object.entries(value as JsonObject).map(([name, schema]) => [name, toJsonSchema(schema)]));
    } else if (key === 'items') {
      result.items = toJsonSchema(value);
    } else {
      result[key] = value;
    }
  }
  return result;
}
