// extrepo-test-backends: each
// POST /users/auth/keys checks its body with the spec's CreateApiKeyRequest, yet refuses it exactly
// as before the schema: the same code, message and fields, the first wrong field in the same order.
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

const OBJECT = 'The body must be a CreateApiKeyRequest object.';
const DESCRIPTION = 'description is required: 1 to 255 characters.';
const EXPIRATION = 'expiration must be a duration such as "30m", "12h", "7d", "4w" or "1y".';
const ROLE_ID = (scope: string) => `role_assignments.${scope}[].role_id must be one of the four ECE platform roles.`;

async function createKey(body: string | undefined) {
  return server.api('POST', '/api/v1/users/auth/keys', {
    ...(body === undefined ? {} : { body }),
    headers: { 'content-type': 'application/json' },
  });
}

test('a body that is no CreateApiKeyRequest is 400 api_keys.invalid_input naming the first wrong field', async () => {
  const cases: Array<[string | undefined, string, string]> = [
    [undefined, OBJECT, 'description'],
    ['[]', OBJECT, 'description'],
    ['"key"', OBJECT, 'description'],
    ['null', OBJECT, 'description'],
    ['{}', DESCRIPTION, 'description'],
    ['{"description": 7}', DESCRIPTION, 'description'],
    ['{"description": null}', DESCRIPTION, 'description'],
    ['{"description": ""}', DESCRIPTION, 'description'],
    ['{"description": " \\t\\n"}', DESCRIPTION, 'description'],
    [JSON.stringify({ description: 'x'.repeat(256) }), DESCRIPTION, 'description'],
    ['{"description": "", "expiration": 5, "role_assignments": 1}', DESCRIPTION, 'description'],
    ['{"description": "x", "expiration": 5}', EXPIRATION, 'expiration'],
    ['{"description": "x", "expiration": true, "role_assignments": []}', EXPIRATION, 'expiration'],
    ['{"description": "x", "expiration": "tomorrow"}', EXPIRATION, 'expiration'],
    ['{"description": "x", "role_assignments": []}', 'role_assignments must be an object.', 'role_assignments'],
    ['{"description": "x", "role_assignments": "admin"}', 'role_assignments must be an object.', 'role_assignments'],
    ['{"description": "x", "role_assignments": {"platform": {}}}', 'role_assignments.platform must be an array.', 'role_assignments.platform'],
    ['{"description": "x", "role_assignments": {"deployment": 1}}', 'role_assignments.deployment must be an array.', 'role_assignments.deployment'],
    ['{"description": "x", "role_assignments": {"platform": [1]}}', ROLE_ID('platform'), 'role_assignments.platform'],
    ['{"description": "x", "role_assignments": {"platform": [{}]}}', ROLE_ID('platform'), 'role_assignments.platform'],
    ['{"description": "x", "role_assignments": {"platform": [{"role_id": 3}]}}', ROLE_ID('platform'), 'role_assignments.platform'],
    ['{"description": "x", "role_assignments": {"platform": [{"role_id": "root"}]}}', ROLE_ID('platform'), 'role_assignments.platform'],
    ['{"description": "x", "role_assignments": {"deployment": [{"role_id": "root"}]}}', ROLE_ID('deployment'), 'role_assignments.deployment'],
    [
      '{"description": "x", "role_assignments": {"platform": [{"role_id": "root"}], "deployment": 1}}',
      ROLE_ID('platform'),
      'role_assignments.platform',
    ],
    [
      '{"description": "x", "role_assignments": {"platform": [{"role_id": "ece_platform_viewer"}], "deployment": [{}]}}',
      ROLE_ID('deployment'),
      'role_assignments.deployment',
    ],
  ];
  for (const [body, message, field] of cases) {
    const response = await createKey(body);
    assert.equal(response.status, 400, `${body}: ${response.text}`);
    assert.equal(response.headers.get('x-cloud-error-codes'), 'api_keys.invalid_input');
    assert.deepEqual(response.body, { errors: [{ code: 'api_keys.invalid_input', message, fields: [field] }] }, String(body));
  }
});

test('a CreateApiKeyRequest may leave out, or null, its optional fields; scopes extrepo ignores are not checked', async () => {
  const bodies = [
    { description: 'plain' },
    { description: 'nulls', expiration: null, role_assignments: null },
    { description: 'empty expiration', expiration: '' },
    { description: 'unknown field', color: 'blue' },
    { description: 'other scopes', role_assignments: { organization: 'x', project: 1 } },
    { description: 'deployment scope', role_assignments: { deployment: [{ role_id: 'ece_platform_viewer' }] } },
  ];
  for (const json of bodies) {
    const response = await server.api('POST', '/api/v1/users/auth/keys', { json });
    assert.equal(response.status, 201, `${JSON.stringify(json)}: ${response.text}`);
    assert.equal(response.body.description, json.description);
  }
  const scoped = await server.api('POST', '/api/v1/users/auth/keys', {
    json: { description: 'viewer', expiration: '1d', role_assignments: { platform: [{ role_id: 'ece_platform_viewer' }] } },
  });
  assert.equal(scoped.status, 201, scoped.text);
  assert.deepEqual(scoped.body.role_assignments, { platform: [{ role_id: 'ece_platform_viewer' }] });
  assert.equal(typeof scoped.body.expiration_date, 'string');
});

const ALL_MESSAGE = 'The body must be {"user_api_keys": [{"user_id": …, "api_key_id": …}, …]}.';

async function deleteOfUsers(body: string | undefined, authorization?: string) {
  return server.api('DELETE', '/api/v1/users/auth/keys/_all', {
    ...(body === undefined ? {} : { body }),
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
  });
}

test('DELETE /users/auth/keys/_all refuses a body that is no DeleteUsersApiKeysRequest, naming user_api_keys', async () => {
  const bodies = [
    undefined,
    'null',
    '[]',
    '{}',
    '{"user_api_keys": {}}',
    '{"user_api_keys": [1]}',
    '{"user_api_keys": [{"user_id": "admin"}]}',
    '{"user_api_keys": [{"user_id": 1, "api_key_id": "k"}]}',
    '{"user_api_keys": [{"user_id": "admin", "api_key_id": null}]}',
  ];
  for (const body of bodies) {
    const response = await deleteOfUsers(body);
    assert.equal(response.status, 400, `${body}: ${response.text}`);
    assert.equal(response.headers.get('x-cloud-error-codes'), 'root.invalid_json_request');
    assert.deepEqual(response.body, { errors: [{ code: 'root.invalid_json_request', message: ALL_MESSAGE, fields: ['user_api_keys'] }] });
  }
});

test('DELETE /users/auth/keys/_all answers 403 to a caller without the right before it looks at the body', async () => {
  const password = 'Keys-test-password-0123';
  const created = await server.api('POST', '/api/v1/users', {
    json: { user_name: 'keys-viewer', security: { roles: ['ece_platform_viewer'], password } },
  });
  assert.equal(created.status, 200, created.text);
  const viewer = `Basic ${Buffer.from(`keys-viewer:${password}`).toString('base64')}`;
  for (const body of ['{}', '{"user_api_keys": []}']) {
    const response = await deleteOfUsers(body, viewer);
    assert.equal(response.status, 403, `${body}: ${response.text}`);
    assert.equal(response.body.errors[0].code, 'root.unauthorized.rbac');
  }
  const key = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'doomed' }, headers: { authorization: viewer } });
  assert.equal(key.status, 201, key.text);
  const deleted = await deleteOfUsers(
    JSON.stringify({
      user_api_keys: [
        { user_id: 'keys-viewer', api_key_id: key.body.id },
        { user_id: 'nobody', api_key_id: 'x' },
      ],
    }),
  );
  assert.equal(deleted.status, 200, deleted.text);
  assert.deepEqual(deleted.body, {});
  const gone = await server.api('GET', `/api/v1/users/keys-viewer/auth/keys/${key.body.id}`);
  assert.equal(gone.status, 404);
});
