// Validates every API response the suite receives against Elastic's Swagger document (spec/), so
// any drift from the official contract fails the tests. Undeclared error statuses must still be a
// BasicFailedReply, and every error must carry x-cloud-error-codes equal to its code. A response
// from a route the served document does not describe fails too (unless the route is one of
// NON_API_ROUTES, or the server itself said there is no such route), so a new endpoint cannot go
// unvalidated by being left out of the document.
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { swaggerDocument } from '../../src/http/spec.js';

type Json = Record<string, any>;

/**
 * Routes outside the API document on purpose: probes and metrics (not JSON APIs), the signed file
 * links (zip bytes, authorised by their signature), and the document itself.
 */
export const NON_API_ROUTES: readonly RegExp[] = [
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/metrics$/,
  /^\/extension-files\//,
  // Install URLs of self-managed deployments (no credentials, like the signed file links).
  /^\/deployment-files\//,
  // The API document itself, and its Swagger UI page with the page's assets.
  /^\/api\/v1\/api-docs(\/|$)/,
];

/** Answers meaning "no such route here": the request reached no operation, so there is nothing to describe. */
const NO_SUCH_ROUTE = new Set(['root.resource_not_found', 'root.method_not_allowed']);

/** The described operation for a method and path, if any (literal paths win over templates). */
export async function describedOperation(method: string, path: string): Promise<{ template: string } | undefined> {
  const { operations } = await load();
  return operations.find((op: Operation) => op.method === method && op.pattern.test(path));
}

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  responses: Json;
}

interface LoadedSpec {
  operations: Operation[];
  basicFailed: ValidateFunction;
  compile: (schema: Json) => ValidateFunction;
}

let loaded: Promise<LoadedSpec> | undefined;

function load(): Promise<LoadedSpec> {
  loaded ??= (async (): Promise<LoadedSpec> => {
    // The merged document the server serves (extensions + users/auth + /audit); validate() dereferences in place.
    const spec = (await SwaggerParser.validate(structuredClone(swaggerDocument) as never)) as Json;
    const dereferenced = spec as Json;
    const ajv = new Ajv({ strict: false, allErrors: true });
    // ajv-formats is CommonJS: its function is the default export at run time, `.default` for tsc.
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => void;
    addFormats(ajv);
    const cache = new Map<Json, ValidateFunction>();
    const compile = (schema: Json) => {
      let fn = cache.get(schema);
      if (!fn) {
        fn = ajv.compile(schema);
        cache.set(schema, fn);
      }
      return fn;
    };
    const operations: Operation[] = [];
    for (const [template, item] of Object.entries(dereferenced.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
        const regex = '^' + dereferenced.basePath + template.replace(/\{[^}]+\}/g, '[^/]+') + '$';
        operations.push({ method: method.toUpperCase(), template, pattern: new RegExp(regex), responses: (op as Json).responses });
      }
    }
    // Literal paths before templated ones: /users/auth is not /users/{user_name}.
    operations.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
    return { operations, basicFailed: compile(dereferenced.definitions.BasicFailedReply), compile };
  })();
  return loaded;
}

export interface ObservedResponse {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  body: unknown;
}

export async function assertMatchesSpec(response: ObservedResponse): Promise<void> {
  const { operations, basicFailed, compile } = await load();
  const where = `${response.method} ${response.path} → ${response.status}`;
  const contentType = response.headers.get('content-type') ?? '';
  assert.match(contentType, /^application\/json/, `${where}: content-type ${contentType}`);
  if (response.status >= 400) {
    assert.ok(basicFailed(response.body), `${where}: not a BasicFailedReply: ${JSON.stringify(response.body)}`);
    const body = response.body as { errors: Array<{ code: string }> };
    assert.ok(body.errors.length > 0, `${where}: empty errors`);
    assert.equal(response.headers.get('x-cloud-error-codes'), body.errors.map((e) => e.code).join(','), `${where}: x-cloud-error-codes`);
  }
  const operation = operations.find((op: Operation) => op.method === response.method && op.pattern.test(response.path));
  if (!operation) {
    if (NON_API_ROUTES.some((route) => route.test(response.path))) return;
    const codes = (response.body as { errors?: Array<{ code?: string }> } | undefined)?.errors?.map((e) => e.code) ?? [];
    if (response.status >= 400 && codes.length > 0 && codes.every((code) => NO_SUCH_ROUTE.has(code ?? ''))) return;
    assert.fail(
      `${where}: the served API document does not describe ${response.method} ${response.path}; describe the route in spec/ ` +
        '(an extrepo-*.swagger.json part listed in SPEC_PARTS of src/http/spec.ts), or list it in NON_API_ROUTES if it is not an API',
    );
  }
  const declared = operation.responses[String(response.status)] as Json | undefined;
  if (response.status < 400) {
    assert.ok(declared, `${where}: success status not declared by the spec for ${operation.method} ${operation.template}`);
  }
  if (declared?.schema) {
    const validate = compile(declared.schema);
    assert.ok(
      validate(response.body),
      `${where}: body does not match the spec: ${JSON.stringify(validate.errors)} in ${JSON.stringify(response.body)}`,
    );
  }
  for (const header of Object.keys(declared?.headers ?? {})) {
    assert.ok(response.headers.has(header), `${where}: missing header ${header}`);
  }
}
