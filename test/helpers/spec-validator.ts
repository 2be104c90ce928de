// Validates every API response the suite receives against Elastic's Swagger document (spec/), so
// any drift from the official contract fails the tests. Undeclared error statuses must still be a
// BasicFailedReply, and every error must carry x-cloud-error-codes equal to its code.
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { swaggerDocument } from '../../src/http/spec.js';

type Json = Record<string, any>;

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
  if (!operation) return;
  const declared = operation.responses[String(response.status)] as Json | undefined;
  if (response.status < 400) {
    assert.ok(declared, `${where}: success status not declared by the spec for ${operation.method} ${operation.template}`);
  }
  if (declared?.schema) {
    const validate = compile(declared.schema);
    assert.ok(validate(response.body), `${where}: body does not match the spec: ${JSON.stringify(validate.errors)} in ${JSON.stringify(response.body)}`);
  }
  for (const header of Object.keys(declared?.headers ?? {})) {
    assert.ok(response.headers.has(header), `${where}: missing header ${header}`);
  }
}
