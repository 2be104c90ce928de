// extrepo-test-backends: each
// The sign-in and key-deletion bodies are checked by the spec's schemas (LoginRequest,
// DeleteApiKeysRequest), yet refused exactly as before the schemas: the same code, message and fields.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;

before(async () => {
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: 'admin-password-for-tests' });
});
after(async () => {
  await server.close();
});

const LOGIN_MESSAGE = 'The body must be a LoginRequest: {"username": "…", "password": "…"}.';

async function login(body: string | undefined) {
  return server.api('POST', '/api/v1/users/auth/_login', {
    ...(body === undefined ? {} : { body }),
    headers: { authorization: '', 'content-type': 'application/json' },
  });
}

test('a body that is no LoginRequest is 400 root.invalid_json_request naming the wrong fields', async () => {
  const cases: Array<[string | undefined, string[]]> = [
    [undefined, ['username', 'password']],
    ['[]', ['username', 'password']],
    ['"admin"', ['username', 'password']],
    ['{}', ['username', 'password']],
    ['{"username": "admin"}', ['password']],
    ['{"password": "x"}', ['username']],
    ['{"username": 7, "password": "x"}', ['username']],
    ['{"username": "admin", "password": null}', ['password']],
    ['{"username": "", "password": "x"}', ['username']],
    ['{"username": "", "password": 1}', ['password']],
  ];
  for (const [body, fields] of cases) {
    const response = await login(body);
    assert.equal(response.status, 400, `${body}: ${response.text}`);
    assert.equal(response.headers.get('x-cloud-error-codes'), 'root.invalid_json_request');
    assert.deepEqual(response.body, { errors: [{ code: 'root.invalid_json_request', message: LOGIN_MESSAGE, fields }] }, String(body));
  }
});

test('a refused sign-in body is audited under the name it claimed', async () => {
  const response = await login('{"username": "claimed-name"}');
  assert.equal(response.status, 400);
  const page = await server.api('GET', '/api/v1/audit?action=login&target=claimed-name');
  assert.equal(page.status, 200, page.text);
  const record = page.body.records[0];
  assert.equal(record?.user_id, 'claimed-name');
  assert.equal(record?.outcome, 'failure');
});

test('a valid LoginRequest still signs in', async () => {
  const response = await login(JSON.stringify({ username: 'admin', password: 'admin-password-for-tests' }));
  assert.equal(response.status, 200, response.text);
  assert.equal(typeof response.body.token, 'string');
});

test('DELETE /users/auth/keys refuses a body that is no DeleteApiKeysRequest, naming keys', async () => {
  for (const body of [undefined, '{}', '{"keys": "abc"}', '{"keys": [1]}', '[]']) {
    const response = await server.api('DELETE', '/api/v1/users/auth/keys', {
      ...(body === undefined ? {} : { body }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(response.status, 400, `${body}: ${response.text}`);
    assert.deepEqual(response.body, {
      errors: [{ code: 'root.invalid_json_request', message: 'The body must be {"keys": ["<api key id>", …]}.', fields: ['keys'] }],
    });
  }
  const created = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'to delete' } });
  assert.equal(created.status, 201, created.text);
  const deleted = await server.api('DELETE', '/api/v1/users/auth/keys', { json: { keys: [created.body.id] } });
  assert.equal(deleted.status, 200, deleted.text);
  const gone = await server.api('GET', `/api/v1/users/auth/keys/${created.body.id}`);
  assert.equal(gone.status, 404);
});
