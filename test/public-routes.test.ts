// extrepo-test-backends: each
// Which routes answer without credentials is declared on the route (`config: { public: true }`) or by
// the scope it is registered in (declarePublicScope), never by a list of URLs: every registered route,
// walked through onRoute, either refuses a caller without credentials or is declared public, and a
// route that declares nothing needs credentials, whatever its path.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RouteOptions } from 'fastify';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const routes: RouteOptions[] = [];

// The public routes a reader should know of, one by one; plugin routes (the docs page, the console)
// are public by their scope and checked by their prefix below.
const DECLARED_PUBLIC = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /api/v1/api-docs/swagger.json',
  'POST /api/v1/users/auth/_login',
  'GET /extension-files/:extension_id/:file',
  'GET /extension-files/:extension_id/versions/:version/:file',
  'GET /deployment-files/:deployment_id/:extension_id/:token/:file',
];

function methodsOf(route: RouteOptions): string[] {
  return Array.isArray(route.method) ? route.method : [route.method];
}

function isPublic(route: RouteOptions): boolean {
  return route.config?.public === true;
}

/** The route's URL with every parameter and wildcard filled in. */
function concrete(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, 'x').replace(/\*/g, 'x');
}

before(async () => {
  server = await startServer(
    {},
    {
      beforeRoutes: (fastify) => {
        fastify.addHook('onRoute', (route) => {
          routes.push(route);
        });
        // Routes a future change might add and forget to think about: nothing declared.
        fastify.get('/brand-new-route', async () => ({ ok: true }));
        fastify.get('/api/v1/brand-new-route', async () => ({ ok: true }));
      },
    },
  );
});
after(async () => {
  await server.close();
});

test('the routes were walked: the API, the operations endpoints and the docs page are among them', () => {
  const keys = new Set(routes.flatMap((route) => methodsOf(route).map((method) => `${method} ${route.url}`)));
  for (const key of ['GET /api/v1/deployments/extensions', 'POST /api/v1/users', 'GET /healthz', 'GET /api/v1/api-docs/json']) {
    assert.ok(keys.has(key), key);
  }
});

test('a route that declares nothing is refused without credentials, whatever its path', async () => {
  for (const url of ['/brand-new-route', '/api/v1/brand-new-route']) {
    const anonymous = await fetch(server.url + url);
    assert.equal(anonymous.status, 401, url);
    assert.equal(anonymous.headers.get('x-cloud-error-codes'), 'root.unauthenticated');
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /ApiKey/);
    const body = (await anonymous.json()) as { errors: Array<{ code: string }> };
    assert.equal(body.errors[0]?.code, 'root.unauthenticated');
    const admitted = await server.api('GET', url, { raw: true });
    assert.equal(admitted.status, 200, `${url}: ${admitted.text}`);
  }
});

test('every route either needs credentials or is declared public', async () => {
  const refusedCodes = new Map([['POST /api/v1/users/auth/_refresh', 'root.unauthorized']]);
  let checked = 0;
  for (const route of routes) {
    if (isPublic(route) || route.config?.unknownPaths === true) continue;
    for (const method of methodsOf(route)) {
      const key = `${method} ${route.url}`;
      const response = await fetch(server.url + concrete(route.url), { method });
      assert.equal(response.status, 401, `${key} answered ${response.status} without credentials`);
      assert.equal(response.headers.get('x-cloud-error-codes'), refusedCodes.get(key) ?? 'root.unauthenticated', key);
      await response.arrayBuffer();
      checked++;
    }
  }
  assert.ok(checked > 40, `only ${checked} routes needed credentials`);
});

test('the public routes are the declared ones, the docs page and the console, and none asks for credentials', async () => {
  const unexpected: string[] = [];
  for (const route of routes) {
    if (!isPublic(route)) continue;
    for (const method of methodsOf(route)) {
      const key = `${method} ${route.url}`;
      const byScope = route.url.startsWith('/api/v1/api-docs') || route.url === '/*' || route.url.startsWith('/assets/');
      // Fastify adds a HEAD route beside every GET, with the GET's config.
      const declared = DECLARED_PUBLIC.includes(key) || DECLARED_PUBLIC.includes(key.replace(/^HEAD /, 'GET '));
      if (!declared && !byScope) unexpected.push(key);
      const response = await fetch(server.url + concrete(route.url), { method });
      assert.notEqual(response.status, 401, `${key} asked for credentials`);
      await response.arrayBuffer();
    }
  }
  assert.deepEqual(unexpected, [], 'public routes nobody listed in this test');
  const declaredKeys = routes.filter(isPublic).flatMap((route) => methodsOf(route).map((method) => `${method} ${route.url}`));
  for (const key of DECLARED_PUBLIC) assert.ok(declaredKeys.includes(key), `${key} is not declared public`);
});

test('a path no route serves is a 404, after credentials under /api/v1 (the docs pages aside)', async () => {
  const anonymousApi = await fetch(`${server.url}/api/v1/no-such-endpoint`);
  assert.equal(anonymousApi.status, 401);
  await anonymousApi.arrayBuffer();
  const admittedApi = await server.api('GET', '/api/v1/no-such-endpoint', { raw: true });
  assert.equal(admittedApi.status, 404);
  assert.equal(admittedApi.headers.get('x-cloud-error-codes'), 'root.resource_not_found');
  for (const url of ['/api/v1/api-docs/no-such-page', '/api/no-such-endpoint']) {
    const anonymous = await fetch(server.url + url);
    assert.equal(anonymous.status, 404, url);
    await anonymous.arrayBuffer();
  }
});
