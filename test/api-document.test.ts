// extrepo-test-backends: each
// The served API document (GET /api/v1/api-docs/swagger.json) describes every route the server
// answers under /api/v1, and extrepo's additions are marked as not part of ECE. Together with the
// response validator (test/helpers/spec-validator.ts), which fails on a response from an
// undescribed route, no endpoint can be added without its description.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';
import { describedOperation, NON_API_ROUTES } from './helpers/spec-validator.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

/** Every (method, path template) in Fastify's route tree, with parameters as `{}`. */
function registeredRoutes(tree: string): Array<{ method: string; template: string }> {
  const routes: Array<{ method: string; template: string }> = [];
  const stack: Array<{ depth: number; path: string }> = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line.replace(/\u00a0/g, ' '));
    if (match === null) continue;
    const depth = match[1]!.length;
    while (stack.length > 0 && stack[stack.length - 1]!.depth >= depth) stack.pop();
    const path = (stack[stack.length - 1]?.path ?? '') + match[2]!;
    stack.push({ depth, path });
    for (const method of match[3]!.split(',').map((m) => m.trim())) {
      if (method !== 'HEAD' && method !== 'OPTIONS') routes.push({ method, template: path.replace(/:[^/]+/g, '{}') });
    }
  }
  return routes;
}

describe('the served API document', () => {
  test('describes every route the server answers under /api/v1 (others answer 405 root.method_not_allowed)', async () => {
    const routes = registeredRoutes(server.app.fastify.printRoutes({ commonPrefix: false }));
    assert.ok(routes.length > 30, `parsed only ${routes.length} routes`);
    const undescribed: string[] = [];
    for (const { method, template } of routes) {
      const path = template.replace(/\{\}/g, '1234567890');
      if (NON_API_ROUTES.some((route) => route.test(path))) continue;
      if (template.includes('*')) {
        // The web console's catch-all (every non-API path) is not part of the API.
        if (!template.startsWith('/api')) continue;
        // A catch-all (the console keeps unknown /api paths out of its scope): it must answer the API's 404.
        const probe = await server.api(method, `${template.replace(/\/?\*.*$/, '')}/no-such-route`);
        if (probe.status === 404 && probe.body?.errors?.[0]?.code === 'root.resource_not_found') continue;
        undescribed.push(`${method} ${template} (catch-all answered ${probe.status})`);
        continue;
      }
      if (await describedOperation(method, path)) continue;
      // Not described: it must be one of the catch-alls that answer 405 for the methods a path lacks.
      const response = await server.api(method, path, method === 'GET' ? {} : { json: {} });
      if (response.status === 405 && response.body?.errors?.[0]?.code === 'root.method_not_allowed') continue;
      // …or one that says there is no such route (the console keeps /api itself out of its scope).
      if (response.status === 404 && response.body?.errors?.[0]?.code === 'root.resource_not_found') continue;
      undescribed.push(`${method} ${template} (answered ${response.status})`);
    }
    assert.deepEqual(undescribed, []);
  });

  test("tags extrepo's file version routes as not part of ECE, and amends ECE's PUT and POST with if_sha256", async () => {
    const response = await server.api('GET', '/api/v1/api-docs/swagger.json');
    assert.equal(response.status, 200);
    const document = response.body;
    const tag = document.tags.find((t: { name: string }) => t.name === 'Extension file versions');
    assert.match(tag.description, /not part of ECE/);
    for (const [path, method] of [
      ['/deployments/extensions/{extension_id}/versions', 'get'],
      ['/deployments/extensions/{extension_id}/versions/{file_version}', 'get'],
      ['/deployments/extensions/{extension_id}/versions/{file_version}/_restore', 'post'],
    ] as const) {
      const operation = document.paths[path][method];
      assert.deepEqual(operation.tags, ['Extension file versions'], path);
      assert.match(operation.description, /not part of ECE/, path);
      assert.equal(operation.responses['404'].schema.$ref, '#/definitions/BasicFailedReply', path);
    }
    const ece = document.paths['/deployments/extensions/{extension_id}'];
    for (const method of ['put', 'post']) {
      const names = ece[method].parameters.map((p: { name: string }) => p.name);
      assert.ok(names.includes('if_sha256') && names.includes('If-Match'), method);
    }
    assert.equal(ece.put.responses['409'].headers['x-cloud-error-codes'].enum[0], 'extensions.version_conflict');
    // The Extension model is Elastic's, untouched.
    assert.deepEqual(Object.keys(document.definitions.Extension.properties).sort(), [
      'deployments',
      'description',
      'download_url',
      'extension_type',
      'file_metadata',
      'id',
      'name',
      'url',
      'version',
    ]);
  });
});
