// extrepo-test-backends: each
// Users and API keys over real HTTP: ECE's User and ApiKeyResponse shapes, validation and the rules
// that keep the platform usable (built-in admin, last admin, owners of extensions, keys shown once).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';
import { createDeployment, createRequest, DEPLOYMENTS } from './helpers/deployments.js';

const PASSWORD = 'Users-test-password-0123';
const basic = (user: string, password = PASSWORD) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let server: TestServer;
before(async () => {
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: 'Admin-password-0123456789' });
});
after(async () => {
  await server.close();
});

async function createUser(name: string, roles: string[] = ['ece_deployment_manager'], extra: Record<string, unknown> = {}) {
  return server.api('POST', '/api/v1/users', { json: { user_name: name, ...extra, security: { roles, password: PASSWORD } } });
}

describe('users', () => {
  test('the built-in admin exists at first start', async () => {
    const response = await server.api('GET', '/api/v1/users/admin');
    assert.equal(response.status, 200);
    assert.equal(response.body.builtin, true);
    assert.deepEqual(response.body.security.roles, ['ece_platform_admin']);
    assert.equal(response.body.security.enabled, true);
    assert.equal(response.body.security.password, undefined);
  });

  test('create returns the User without the password; get, list and include_disabled', async () => {
    const created = await createUser('carol', ['ece_deployment_viewer'], { full_name: 'Carol C', email: 'carol@example.com' });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.body.user_name, 'carol');
    assert.equal(created.body.full_name, 'Carol C');
    assert.equal(created.body.email, 'carol@example.com');
    assert.equal(created.body.builtin, false);
    assert.equal(created.body.metadata.created_by, 'admin');
    assert.ok(!created.text.includes(PASSWORD));
    assert.equal((await server.api('GET', '/api/v1/users/carol')).body.full_name, 'Carol C');
    await createUser('dave');
    await server.api('PATCH', '/api/v1/users/dave', { json: { security: { enabled: false } } });
    const enabled = (await server.api('GET', '/api/v1/users')).body.users.map((u: { user_name: string }) => u.user_name);
    const all = (await server.api('GET', '/api/v1/users?include_disabled=true')).body.users.map((u: { user_name: string }) => u.user_name);
    assert.ok(enabled.includes('carol') && !enabled.includes('dave'));
    assert.ok(all.includes('dave'));
  });

  test('invalid names, roles, passwords and duplicates are refused with ECE codes', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ user_name: 'has space', security: { roles: [], password: PASSWORD } }, 400, 'user.user_name.invalid'],
      [{ user_name: 'auth', security: { roles: [], password: PASSWORD } }, 400, 'user.user_name.invalid'],
      [{ user_name: 'erin', security: { roles: ['superuser'], password: PASSWORD } }, 400, 'user.roles.invalid'],
      [{ user_name: 'erin', security: { roles: [], password: 'short' } }, 400, 'user.password.invalid'],
      [{ user_name: 'erin', security: { roles: [] } }, 400, 'user.password.invalid'],
      [{ user_name: 'erin', builtin: true, security: { roles: [], password: PASSWORD } }, 400, 'user.restricted_field'],
      [{ user_name: 'admin', security: { roles: [], password: PASSWORD } }, 409, 'user.user_name.conflict'],
    ];
    for (const [body, status, code] of cases) {
      const response = await server.api('POST', '/api/v1/users', { json: body });
      assert.equal(response.status, status, JSON.stringify(body));
      assert.equal(response.body.errors[0].code, code);
      assert.ok(!response.text.includes(PASSWORD) && !response.text.includes('"short"'));
    }
    const policy = await server.api('POST', '/api/v1/users', { json: { user_name: 'erin', security: { password: 'short' } } });
    assert.match(policy.body.errors[0].message, /at least 8 characters/);
  });

  test('PATCH is a merge patch: given fields change, null clears, user_name is restricted', async () => {
    await createUser('frank', ['ece_deployment_viewer'], { full_name: 'Frank', email: 'f@example.com' });
    const patched = await server.api('PATCH', '/api/v1/users/frank', { json: { email: null, security: { roles: ['ece_platform_viewer'] } } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.full_name, 'Frank');
    assert.equal(patched.body.email, undefined);
    assert.deepEqual(patched.body.security.roles, ['ece_platform_viewer']);
    const rename = await server.api('PATCH', '/api/v1/users/frank', { json: { user_name: 'francis' } });
    assert.equal(rename.body.errors[0].code, 'user.restricted_field');
    assert.equal((await server.api('PATCH', '/api/v1/users/nobody', { json: {} })).body.errors[0].code, 'user.not_found');
  });

  test('PATCH takes Content-Type application/merge-patch+json like application/json, with the same rules', async () => {
    await createUser('grace', ['ece_deployment_viewer'], { full_name: 'Grace', email: 'g@example.com' });
    const mergePatch = { 'content-type': 'application/merge-patch+json' };
    const patched = await server.api('PATCH', '/api/v1/users/grace', { json: { email: null, full_name: 'Grace H' }, headers: mergePatch });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.full_name, 'Grace H');
    assert.equal(patched.body.email, undefined);
    const own = await server.api('PATCH', '/api/v1/user', {
      json: { full_name: 'Grace Hopper' },
      headers: { ...mergePatch, authorization: basic('grace') },
    });
    assert.equal(own.status, 200, own.text);
    assert.equal(own.body.full_name, 'Grace Hopper');
    const broken = await server.api('PATCH', '/api/v1/users/grace', { body: '{"full_name":', headers: mergePatch });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.errors[0].code, 'root.invalid_json_request');
    const restricted = await server.api('PATCH', '/api/v1/users/grace', { json: { user_name: 'g' }, headers: mergePatch });
    assert.equal(restricted.body.errors[0].code, 'user.restricted_field');
  });

  test('the built-in admin cannot be deleted; the last enabled admin cannot be disabled or demoted', async () => {
    const del = await server.api('DELETE', '/api/v1/users/admin');
    assert.equal(del.status, 400);
    assert.equal(del.body.errors[0].code, 'user.restricted_deletion');
    for (const security of [{ enabled: false }, { roles: ['ece_platform_viewer'] }]) {
      const response = await server.api('PATCH', '/api/v1/users/admin', { json: { security } });
      assert.equal(response.status, 400);
      assert.equal(response.body.errors[0].code, 'user.restricted_field');
      assert.match(response.body.errors[0].message, /last enabled ece_platform_admin/);
    }
    // With a second admin, the built-in one may be disabled (and enabled again by the other).
    await createUser('second-admin', ['ece_platform_admin']);
    assert.equal(
      (
        await server.api('PATCH', '/api/v1/users/admin', {
          json: { security: { enabled: false } },
          headers: { authorization: basic('second-admin') },
        })
      ).status,
      200,
    );
    assert.equal(
      (await server.api('PATCH', '/api/v1/users/admin', { json: { security: { enabled: true } }, headers: { authorization: basic('second-admin') } }))
        .status,
      200,
    );
  });

  test('deleting an owner of extensions is refused naming how many, unless they are reassigned', async () => {
    await createUser('owner');
    await createUser('heir');
    const ids: string[] = [];
    for (const name of ['a', 'b']) {
      const response = await server.api('POST', '/api/v1/deployments/extensions', {
        json: { name, version: '*', extension_type: 'bundle' },
        headers: { authorization: basic('owner') },
      });
      ids.push(response.body.id);
    }
    const refused = await server.api('DELETE', '/api/v1/users/owner');
    assert.equal(refused.status, 400);
    assert.equal(refused.body.errors[0].code, 'user.restricted_deletion');
    assert.match(refused.body.errors[0].message, /owns 2 extensions.*reassign_extensions_to/);
    const badTarget = await server.api('DELETE', '/api/v1/users/owner?reassign_extensions_to=ghost');
    assert.equal(badTarget.status, 400);
    assert.equal((await server.api('DELETE', '/api/v1/users/owner?reassign_extensions_to=heir')).status, 200);
    assert.equal((await server.api('GET', '/api/v1/users/owner')).status, 404);
    const heirList = await server.api('GET', '/api/v1/deployments/extensions', { headers: { authorization: basic('heir') } });
    assert.deepEqual(heirList.body.extensions.map((e: { id: string }) => e.id).sort(), ids.sort());
  });

  test('deleting an owner of deployments is refused too, and reassigning hands the deployments over', async () => {
    await createUser('deployer');
    await createUser('deployer-heir');
    const id = await createDeployment(server, createRequest({ name: 'owned-by-deployer' }), basic('deployer'));
    const refused = await server.api('DELETE', '/api/v1/users/deployer');
    assert.equal(refused.status, 400);
    assert.equal(refused.body.errors[0].code, 'user.restricted_deletion');
    assert.match(refused.body.errors[0].message, /still owns 1 deployment\. Delete it first.*reassign_extensions_to/);
    assert.equal((await server.api('DELETE', '/api/v1/users/deployer?reassign_extensions_to=deployer-heir')).status, 200);
    assert.equal((await server.api('GET', `${DEPLOYMENTS}/${id}`, { headers: { authorization: basic('deployer-heir') } })).status, 200);
  });
});

describe('API keys', () => {
  test('the key is shown once at creation, never again; listing and deleting', async () => {
    const created = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'deploy pipeline', expiration: '7d' } });
    assert.equal(created.status, 201);
    assert.match(created.body.key, /^[\w-]+\.[\w-]+$/);
    assert.equal(created.body.key.split('.')[0], created.body.id);
    assert.equal(created.body.user_id, 'admin');
    assert.ok(Math.abs(Date.parse(created.body.expiration_date) - Date.now() - 7 * 86_400_000) < 60_000);
    const secret = created.body.key.split('.')[1];
    const shown = await server.api('GET', `/api/v1/users/auth/keys/${created.body.id}`);
    const listed = await server.api('GET', '/api/v1/users/auth/keys');
    const all = await server.api('GET', '/api/v1/users/auth/keys/_all');
    for (const response of [shown, listed, all]) {
      assert.equal(response.status, 200);
      assert.ok(!response.text.includes(secret));
    }
    assert.equal(shown.body.key, undefined);
    assert.ok(listed.body.keys.some((k: { id: string }) => k.id === created.body.id));
    assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization: `ApiKey ${created.body.key}` } })).status, 200);
    assert.equal((await server.api('DELETE', `/api/v1/users/auth/keys/${created.body.id}`)).status, 200);
    assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization: `ApiKey ${created.body.key}` } })).status, 401);
    const again = await server.api('DELETE', `/api/v1/users/auth/keys/${created.body.id}`);
    assert.equal(again.status, 404);
    assert.equal(again.body.errors[0].code, 'api_keys.key_not_found');
  });

  test('invalid requests give 400 api_keys.invalid_input', async () => {
    for (const json of [
      {},
      { description: '' },
      { description: 'x', expiration: 'tomorrow' },
      { description: 'x', role_assignments: { platform: [{ role_id: 'root' }] } },
    ]) {
      const response = await server.api('POST', '/api/v1/users/auth/keys', { json });
      assert.equal(response.status, 400, JSON.stringify(json));
      assert.equal(response.body.errors[0].code, 'api_keys.invalid_input');
    }
  });

  test('admins manage the keys of other users; an unknown user is api_keys.user_not_found', async () => {
    await createUser('keyholder');
    const key = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'k' }, headers: { authorization: basic('keyholder') } });
    const listed = await server.api('GET', '/api/v1/users/keyholder/auth/keys');
    assert.deepEqual(
      listed.body.keys.map((k: { id: string }) => k.id),
      [key.body.id],
    );
    assert.equal((await server.api('GET', `/api/v1/users/keyholder/auth/keys/${key.body.id}`)).body.id, key.body.id);
    assert.equal((await server.api('DELETE', '/api/v1/users/keyholder/auth/keys')).status, 200);
    assert.equal((await server.api('GET', '/api/v1/user', { headers: { authorization: `ApiKey ${key.body.key}` } })).status, 401);
    const ghost = await server.api('GET', '/api/v1/users/ghost/auth/keys');
    assert.equal(ghost.status, 404);
    assert.equal(ghost.body.errors[0].code, 'api_keys.user_not_found');
  });
});
