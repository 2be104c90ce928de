// extrepo-test-backends: each
// The audit trail over real HTTP: changes and sign-ins are recorded with who, what, target,
// outcome, address and request id; admins page and filter them; no secret is ever recorded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

const ADMIN_PASSWORD = 'Audit-admin-password-0123';
let server: TestServer;
before(async () => {
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: ADMIN_PASSWORD });
});
after(async () => {
  await server.close();
});

test('changes, logins and failures are recorded, filterable, and hold no secret', async () => {
  const secrets: string[] = [ADMIN_PASSWORD, 'Wrong-password-for-audit'];
  const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'audited', version: '*', extension_type: 'bundle' } });
  const id = created.body.id as string;
  await server.api('POST', '/api/v1/users', {
    json: { user_name: 'viewer', security: { roles: ['ece_platform_viewer'], password: 'Seer-password-0123' } },
  });
  secrets.push('Seer-password-0123');
  const key = await server.api('POST', '/api/v1/users/auth/keys', {
    json: { description: 'v' },
    headers: { authorization: `Basic ${Buffer.from('viewer:Seer-password-0123').toString('base64')}` },
  });
  secrets.push(key.body.key, key.body.key.split('.')[1]);
  const denied = await server.api('DELETE', `/api/v1/deployments/extensions/${id}`, {
    headers: { authorization: `ApiKey ${key.body.key}`, 'x-request-id': 'req-audit-1' },
  });
  assert.equal(denied.status, 401);
  const login = await server.api('POST', '/api/v1/users/auth/_login', {
    json: { username: 'admin', password: ADMIN_PASSWORD },
    headers: { authorization: '' },
  });
  secrets.push(login.body.token);
  await server.api('POST', '/api/v1/users/auth/_login', {
    json: { username: 'admin', password: 'Wrong-password-for-audit' },
    headers: { authorization: '' },
  });

  const page = await server.api('GET', '/api/v1/audit?size=100');
  assert.equal(page.status, 200);
  const records = page.body.records as Array<Record<string, unknown>>;
  const find = (action: string, outcome: string) => records.find((r) => r.action === action && r.outcome === outcome);
  assert.deepEqual(
    { ...find('create-extension', 'success'), id: 0, at: 0, request_id: 0 },
    {
      id: 0,
      at: 0,
      request_id: 0,
      action: 'create-extension',
      outcome: 'success',
      status: 201,
      user_id: 'admin',
      api_key_id: 'env-admin-key',
      target: id,
      client_address: '127.0.0.1',
    },
  );
  const failure = find('delete-extension', 'failure')!;
  assert.equal(failure.user_id, 'viewer');
  assert.equal(failure.api_key_id, key.body.id);
  assert.equal(failure.error_code, 'extensions.unauthorised');
  assert.equal(failure.request_id, 'req-audit-1');
  assert.equal(failure.target, id);
  assert.equal(find('create-user', 'success')!.target, 'viewer');
  assert.equal(find('create-api-key', 'success')!.target, key.body.id);
  assert.equal(find('login', 'success')!.user_id, 'admin');
  assert.equal(find('login', 'failure')!.error_code, 'root.unauthenticated');
  // Newest first.
  const times = records.map((r) => Date.parse(r.at as string));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => b - a),
  );
  const text = JSON.stringify(records);
  for (const secret of secrets) assert.ok(!text.includes(secret), 'a secret was recorded');

  const filtered = await server.api('GET', `/api/v1/audit?user=viewer&outcome=failure&target=${id}`);
  assert.equal(filtered.body.total, 1);
  const paged = await server.api('GET', '/api/v1/audit?size=1&from=1&action=login');
  assert.equal(paged.body.total, 2);
  assert.equal(paged.body.records.length, 1);
  assert.equal(paged.body.records[0].outcome, 'success');
  const none = await server.api('GET', `/api/v1/audit?since=${new Date(Date.now() + 60_000).toISOString()}`);
  assert.equal(none.body.total, 0);
  const bad = await server.api('GET', '/api/v1/audit?size=5000');
  assert.equal(bad.status, 400);
  // Records cannot be changed through the API.
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    assert.ok([404, 405].includes((await server.api(method, '/api/v1/audit', { json: {} })).status));
  }
});
