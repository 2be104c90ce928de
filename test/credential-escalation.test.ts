// extrepo-test-backends: each
// A credential never mints a stronger one (issue 9.1): an API key limited to some of its user's roles
// cannot change the user's password (which would let it sign in with all of them) nor create a key
// with roles beyond its own. Each refusal is 403 root.unauthorized.rbac and is in the audit trail.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

const PASSWORD = 'Escalation-password-0123';
const NEW_PASSWORD = 'Escalation-new-password-4567';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

async function userWithLimitedKey(name: string, userRoles: string[], keyRoles: string[]): Promise<string> {
  const created = await server.api('POST', '/api/v1/users', { json: { user_name: name, security: { roles: userRoles, password: PASSWORD } } });
  assert.equal(created.status, 200, created.text);
  const key = await server.api('POST', '/api/v1/users/auth/keys', {
    json: { description: 'limited', role_assignments: { platform: keyRoles.map((role_id) => ({ role_id })) } },
    headers: { authorization: basic(name, PASSWORD) },
  });
  assert.equal(key.status, 201, key.text);
  return `ApiKey ${key.body.key}`;
}

async function auditFailures(action: string, user: string): Promise<Array<Record<string, unknown>>> {
  const page = await server.api('GET', `/api/v1/audit?action=${action}&user=${user}&outcome=failure`);
  assert.equal(page.status, 200, page.text);
  return page.body.records;
}

describe('a key limited to fewer roles than its user', () => {
  test("cannot change its user's password (403 root.unauthorized.rbac, audited), and the old password still works", async () => {
    const key = await userWithLimitedKey('escalate-pw', ['ece_platform_admin'], ['ece_platform_viewer']);
    const patched = await server.api('PATCH', '/api/v1/user', { json: { security: { password: NEW_PASSWORD } }, headers: { authorization: key } });
    assert.equal(patched.status, 403, patched.text);
    assert.equal(patched.headers.get('x-cloud-error-codes'), 'root.unauthorized.rbac');
    assert.match(patched.body.errors[0].message, /ece_platform_admin/);
    const withNew = await server.api('GET', '/api/v1/user', { headers: { authorization: basic('escalate-pw', NEW_PASSWORD) } });
    assert.equal(withNew.status, 401);
    const withOld = await server.api('GET', '/api/v1/user', { headers: { authorization: basic('escalate-pw', PASSWORD) } });
    assert.equal(withOld.status, 200);
    const records = await auditFailures('update-current-user', 'escalate-pw');
    assert.equal(records.length, 1);
    assert.equal(records[0]!.error_code, 'root.unauthorized.rbac');
    assert.equal(records[0]!.status, 403);
  });

  test("may still change its user's name and e-mail", async () => {
    const key = await userWithLimitedKey('escalate-mail', ['ece_platform_admin'], ['ece_platform_viewer']);
    const patched = await server.api('PATCH', '/api/v1/user', { json: { email: 'me@example.com' }, headers: { authorization: key } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.email, 'me@example.com');
  });

  test('cannot create a key with roles beyond its own (403 root.unauthorized.rbac, audited)', async () => {
    const key = await userWithLimitedKey('escalate-key', ['ece_platform_admin'], ['ece_platform_viewer']);
    const beyond = await server.api('POST', '/api/v1/users/auth/keys', {
      json: { description: 'more', role_assignments: { platform: [{ role_id: 'ece_platform_admin' }] } },
      headers: { authorization: key },
    });
    assert.equal(beyond.status, 403, beyond.text);
    assert.equal(beyond.headers.get('x-cloud-error-codes'), 'root.unauthorized.rbac');
    const records = await auditFailures('create-api-key', 'escalate-key');
    assert.equal(records.length, 1);
    assert.equal(records[0]!.error_code, 'root.unauthorized.rbac');
  });

  test('creates keys with at most its own roles, by default exactly those', async () => {
    const key = await userWithLimitedKey('escalate-default', ['ece_platform_admin'], ['ece_platform_viewer']);
    const created = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'same' }, headers: { authorization: key } });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.role_assignments, { platform: [{ role_id: 'ece_platform_viewer' }] });
  });
});

test("a credential holding all of its user's roles changes the password", async () => {
  const key = await userWithLimitedKey('full-key', ['ece_deployment_manager'], ['ece_deployment_manager']);
  const patched = await server.api('PATCH', '/api/v1/user', { json: { security: { password: NEW_PASSWORD } }, headers: { authorization: key } });
  assert.equal(patched.status, 200, patched.text);
  const withNew = await server.api('GET', '/api/v1/user', { headers: { authorization: basic('full-key', NEW_PASSWORD) } });
  assert.equal(withNew.status, 200);
});
