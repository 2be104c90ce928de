// extrepo-test-backends: each
// Every path parameter accepts what its create accepts (issue 9.3): a user name of 255 characters,
// the longest POST /users takes, works in every /users/{user_name} route and the user's key routes,
// also percent-encoded; a path beyond any valid name is 414 as a BasicFailedReply that does not echo it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

const PASSWORD = 'Long-name-password-0123';
let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

test('a user with a 255-character name is read, changed, has its keys managed and is deleted', async () => {
  // '@' is sent percent-encoded by most clients: 3 bytes of path per character.
  const name = `a${'@'.repeat(253)}z`;
  assert.equal(name.length, 255);
  const path = `/api/v1/users/${encodeURIComponent(name)}`;
  const created = await server.api('POST', '/api/v1/users', {
    json: { user_name: name, security: { roles: ['ece_deployment_viewer'], password: PASSWORD } },
  });
  assert.equal(created.status, 200, created.text);
  const got = await server.api('GET', path);
  assert.equal(got.status, 200, got.text);
  assert.equal(got.body.user_name, name);
  const disabled = await server.api('PATCH', path, { json: { security: { enabled: false } } });
  assert.equal(disabled.status, 200, disabled.text);
  assert.equal(disabled.body.security.enabled, false);
  const keys = await server.api('GET', `${path}/auth/keys`);
  assert.equal(keys.status, 200, keys.text);
  assert.equal((await server.api('GET', `${path}/auth/keys/nosuchkey`)).status, 404);
  assert.equal((await server.api('DELETE', `${path}/auth/keys`)).status, 200);
  const deleted = await server.api('DELETE', path);
  assert.equal(deleted.status, 200, deleted.text);
});

test('a path parameter longer than any valid one is 414 root.uri_too_long and is not echoed', async () => {
  const long = 'x'.repeat(5000);
  const response = await server.api('GET', `/api/v1/users/${long}`);
  assert.equal(response.status, 414, response.text);
  assert.equal(response.headers.get('x-cloud-error-codes'), 'root.uri_too_long');
  assert.equal(response.body.errors[0].code, 'root.uri_too_long');
  assert.ok(!response.text.includes(long.slice(0, 200)), 'the path was echoed');
});
