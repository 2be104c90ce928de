// extrepo-test-backends: each
// POST /users, PATCH /users/{user_name} and PATCH /user check their bodies with the spec's User
// schema, yet refuse them exactly as before the schema: the same status, code, message and fields,
// and a 403 or 404 still comes before any complaint about the body.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

const PASSWORD = 'Schema-test-password-0123';
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

let server: TestServer;
before(async () => {
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: 'Admin-password-0123456789' });
  for (const [name, roles] of [
    ['schema-viewer', ['ece_platform_viewer']],
    ['schema-member', ['ece_deployment_manager']],
  ] as const) {
    const created = await server.api('POST', '/api/v1/users', { json: { user_name: name, security: { roles, password: PASSWORD } } });
    assert.equal(created.status, 200, created.text);
  }
});
after(async () => {
  await server.close();
});

type Refusal = [status: number, code: string, message: string, fields?: string[]];

async function send(method: string, path: string, body: string | undefined, authorization?: string) {
  return server.api(method, path, {
    ...(body === undefined ? {} : { body }),
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
  });
}

async function assertRefusals(method: string, path: string, cases: Array<[string | undefined, Refusal]>, authorization?: string) {
  for (const [body, [status, code, message, fields]] of cases) {
    const response = await send(method, path, body, authorization);
    assert.equal(response.status, status, `${body}: ${response.text}`);
    assert.equal(response.headers.get('x-cloud-error-codes'), code, String(body));
    assert.deepEqual(response.body, { errors: [{ code, message, ...(fields === undefined ? {} : { fields }) }] }, String(body));
  }
}

const NOT_A_USER: Refusal = [400, 'root.invalid_json_request', 'The body must be a User object.'];
const NAME: Refusal = [
  400,
  'user.user_name.invalid',
  'user_name must be 1 to 255 characters: letters, digits and ._@- (not first), and not "auth".',
  ['user_name'],
];
const BUILTIN: Refusal = [400, 'user.restricted_field', 'builtin cannot be set.', ['builtin']];
const SECURITY: Refusal = [400, 'root.invalid_json_request', 'security is required, with roles and password.', ['security']];
const ROLES: Refusal = [400, 'user.roles.invalid', 'security.roles must be an array of role names.', ['security.roles']];
const PASSWORD_REQUIRED: Refusal = [400, 'user.password.invalid', 'security.password is required.', ['security.password']];
const PASSWORD_STRING: Refusal = [400, 'user.password.invalid', 'security.password must be a string.', ['security.password']];
const ENABLED: Refusal = [400, 'root.invalid_json_request', 'security.enabled must be a boolean.', ['security.enabled']];
const TEXT = (field: string): Refusal => [400, 'root.invalid_json_request', `${field} must be a string of at most 1024 characters.`, [field]];

const user = (extra: Record<string, unknown>, security: Record<string, unknown> = { password: PASSWORD }) =>
  JSON.stringify({ user_name: 'schema-new', ...extra, security });

test('POST /users refuses a body that is no User naming the first wrong field, as before the schema', async () => {
  await assertRefusals('POST', '/api/v1/users', [
    ['[]', NOT_A_USER],
    ['"carol"', NOT_A_USER],
    ['null', NOT_A_USER],
    ['{}', NAME],
    ['{"user_name": 7}', NAME],
    ['{"user_name": "has space", "security": 1}', NAME],
    ['{"user_name": "auth", "security": {}}', NAME],
    ['{"user_name": "_all"}', NAME],
    [JSON.stringify({ user_name: 'x'.repeat(256) }), NAME],
    ['{"user_name": "schema-new", "builtin": true}', BUILTIN],
    ['{"user_name": "schema-new"}', SECURITY],
    ['{"user_name": "schema-new", "security": null}', SECURITY],
    ['{"user_name": "schema-new", "security": []}', SECURITY],
    [user({}, { roles: 'admin' }), ROLES],
    [user({}, { roles: null, password: 5 }), ROLES],
    [user({}, { roles: [1] }), ROLES],
    [user({}, { roles: [] }), PASSWORD_REQUIRED],
    [user({}, { password: null }), PASSWORD_STRING],
    [user({}, { password: 5, enabled: 'yes' }), PASSWORD_STRING],
    [user({}, { password: PASSWORD, enabled: 'yes' }), ENABLED],
    [user({}, { password: PASSWORD, enabled: null }), ENABLED],
    [user({ full_name: 5 }), TEXT('full_name')],
    [user({ full_name: 5, email: 5 }), TEXT('full_name')],
    [user({ full_name: 'x'.repeat(1025) }), TEXT('full_name')],
    [user({ email: true }), TEXT('email')],
  ]);
  const missing = await server.api('GET', '/api/v1/users/schema-new');
  assert.equal(missing.status, 404);
});

test('POST /users with a valid User creates it; null names, other User fields and unknown fields are accepted', async () => {
  const response = await send(
    'POST',
    '/api/v1/users',
    JSON.stringify({
      user_name: 'schema-ok',
      full_name: null,
      email: '',
      builtin: false,
      metadata: { created_by: 'someone' },
      color: 'blue',
      security: { roles: ['ece_platform_viewer'], password: PASSWORD, enabled: true, permissions: 7, security_realm: { type: 'x' } },
    }),
  );
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.user_name, 'schema-ok');
  assert.equal(response.body.full_name, undefined);
  assert.equal(response.body.email, undefined);
  assert.equal(response.body.metadata.created_by, 'admin');
});

test('POST /users answers 403 to a caller who may not create users, whatever the body', async () => {
  for (const body of ['[]', '{}', user({ full_name: 5 })]) {
    const response = await send('POST', '/api/v1/users', body, basic('schema-viewer'));
    assert.equal(response.status, 403, `${body}: ${response.text}`);
    assert.equal(response.body.errors[0].code, 'root.unauthorized.rbac');
  }
});

const PATCH_NOT_A_USER: Refusal = [400, 'root.invalid_json_request', 'The body must be a JSON object (JSON Merge Patch of a User).'];
const PATCH_SECURITY: Refusal = [400, 'root.invalid_json_request', 'security must be an object.', ['security']];

test('PATCH /users/{user_name} refuses a body that is no merge patch of a User, as before the schema', async () => {
  await assertRefusals('PATCH', '/api/v1/users/schema-member', [
    ['[]', PATCH_NOT_A_USER],
    ['null', PATCH_NOT_A_USER],
    ['7', PATCH_NOT_A_USER],
    ['{"user_name": "other"}', [400, 'user.restricted_field', 'user_name cannot be changed.', ['user_name']]],
    ['{"builtin": true}', [400, 'user.restricted_field', 'builtin cannot be changed.', ['builtin']]],
    ['{"full_name": 5}', TEXT('full_name')],
    ['{"full_name": 5, "email": 5, "security": 5}', TEXT('full_name')],
    ['{"email": []}', TEXT('email')],
    [JSON.stringify({ email: 'x'.repeat(1025) }), TEXT('email')],
    ['{"security": 5}', PATCH_SECURITY],
    ['{"security": []}', PATCH_SECURITY],
    ['{"security": {"roles": "x"}}', ROLES],
    ['{"security": {"roles": [1], "enabled": 1}}', ROLES],
    [
      '{"security": {"roles": ["superuser"]}}',
      [
        400,
        'user.roles.invalid',
        'Unknown role(s) superuser; the roles are ece_platform_admin, ece_platform_viewer, ece_deployment_manager, ece_deployment_viewer.',
        ['security.roles'],
      ],
    ],
    ['{"security": {"enabled": "no"}}', ENABLED],
    ['{"security": {"password": null}}', [400, 'user.restricted_field', 'security.password cannot be removed.', ['security.password']]],
    ['{"security": {"password": 5}}', PASSWORD_STRING],
  ]);
});

test('PATCH /users/{user_name} still answers 403, then 404, before it looks at the body', async () => {
  for (const body of ['[]', '{"full_name": 5}']) {
    const forbidden = await send('PATCH', '/api/v1/users/schema-member', body, basic('schema-viewer'));
    assert.equal(forbidden.status, 403, `${body}: ${forbidden.text}`);
    assert.equal(forbidden.body.errors[0].code, 'root.unauthorized.rbac');
  }
  await assertRefusals('PATCH', '/api/v1/users/nobody', [
    ['[]', PATCH_NOT_A_USER],
    ['{"full_name": 5}', [404, 'user.not_found', 'User [nobody] not found.']],
    ['{"security": 5}', [404, 'user.not_found', 'User [nobody] not found.']],
  ]);
});

test('PATCH keeps merge-patch semantics: null clears names, roles and enabled, unknown fields are ignored', async () => {
  const set = await send('PATCH', '/api/v1/users/schema-member', '{"full_name": "Member", "email": "m@example.com", "color": 1}');
  assert.equal(set.status, 200, set.text);
  assert.equal(set.body.full_name, 'Member');
  const cleared = await send(
    'PATCH',
    '/api/v1/users/schema-member',
    '{"full_name": null, "email": "", "security": {"roles": null, "enabled": null}}',
  );
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(cleared.body.full_name, undefined);
  assert.equal(cleared.body.email, undefined);
  assert.deepEqual(cleared.body.security.roles, []);
  assert.equal(cleared.body.security.enabled, true);
  const same = await send('PATCH', '/api/v1/users/schema-member', '{"user_name": "schema-member", "builtin": false, "security": null}');
  assert.equal(same.status, 200, same.text);
});

test('PATCH /user refuses the same bodies, and a change of its own roles or enabled', async () => {
  const self = basic('schema-viewer');
  await assertRefusals(
    'PATCH',
    '/api/v1/user',
    [
      ['[]', PATCH_NOT_A_USER],
      ['{"email": 5}', TEXT('email')],
      ['{"security": 5}', PATCH_SECURITY],
      ['{"security": {"roles": 5}}', ROLES],
      [
        '{"security": {"roles": ["ece_platform_admin"]}}',
        [
          400,
          'user.restricted_field',
          'security.roles of your own account are changed by a platform admin (PATCH /users/{user_name}).',
          ['security.roles'],
        ],
      ],
      [
        '{"security": {"enabled": false}}',
        [400, 'user.restricted_field', 'security.enabled of your own account is changed by a platform admin.', ['security.enabled']],
      ],
    ],
    self,
  );
  const own = await send('PATCH', '/api/v1/user', '{"full_name": "Viewer"}', self);
  assert.equal(own.status, 200, own.text);
  assert.equal(own.body.full_name, 'Viewer');
});
