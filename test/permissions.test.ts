// extrepo-test-backends: each
// The permission matrix of README "Permissions", cell by cell over real HTTP: each of ECE's four
// platform roles against every operation on extensions, users, API keys and the audit log; then two
// users who cannot see each other's extensions, and the walkthrough of a new installation.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { bundleZip } from './helpers/archives.js';
import { startServer, type TestServer } from './helpers/server.js';

const ROLES = ['ece_platform_admin', 'ece_platform_viewer', 'ece_deployment_manager', 'ece_deployment_viewer'] as const;
type Role = (typeof ROLES)[number];
const PASSWORD = 'Matrix-password-0123456789';
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

let server: TestServer;
let zip: Buffer;
/** An API key per role, of a user holding just that role. */
const keys = {} as Record<Role, string>;

before(async () => {
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: 'Admin-password-0123456789' });
  zip = await bundleZip();
  for (const role of ROLES) {
    const name = `matrix-${role}`;
    await createUser(name, [role]);
    const key = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: role }, headers: { authorization: basic(name) } });
    assert.equal(key.status, 201, key.text);
    keys[role] = `ApiKey ${key.body.key}`;
  }
});
after(async () => {
  await server.close();
});

async function createUser(name: string, roles: string[]): Promise<void> {
  const response = await server.api('POST', '/api/v1/users', { json: { user_name: name, security: { roles, password: PASSWORD } } });
  assert.equal(response.status, 200, response.text);
}

async function createExtension(authorization?: string): Promise<string> {
  const response = await server.api('POST', '/api/v1/deployments/extensions', {
    json: { name: `ext-${randomUUID().slice(0, 8)}`, version: '*', extension_type: 'bundle' },
    ...(authorization ? { headers: { authorization } } : {}),
  });
  assert.equal(response.status, 201, response.text);
  return response.body.id;
}

/** A user of its own with one API key, created by the admin (a target for user and key operations). */
async function otherUserWithKey(): Promise<{ name: string; keyId: string }> {
  const name = `target-${randomUUID().slice(0, 8)}`;
  await createUser(name, ['ece_deployment_viewer']);
  const key = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 't' }, headers: { authorization: basic(name) } });
  return { name, keyId: key.body.id };
}

/** An extension that `role`'s actor owns: created while a deployment manager, then the role set. */
async function ownExtension(role: Role): Promise<{ id: string; authorization: string }> {
  const name = `owner-${randomUUID().slice(0, 8)}`;
  await createUser(name, ['ece_deployment_manager']);
  const id = await createExtension(basic(name));
  const patched = await server.api('PATCH', `/api/v1/users/${name}`, { json: { security: { roles: [role] } } });
  assert.equal(patched.status, 200, patched.text);
  return { id, authorization: basic(name) };
}

interface Request {
  method: string;
  path: string;
  json?: unknown;
  body?: Buffer;
  /** Acts with these credentials instead of the role's key. */
  authorization?: string;
}

interface Row {
  operation: string;
  /** Builds a fresh target for each cell. */
  request: (role: Role) => Promise<Request>;
  expect: Record<Role, number | string>;
}

const ext = { name: 'updated', version: '*', extension_type: 'bundle' };
const UNAUTHORISED = '401 extensions.unauthorised';
const NOT_FOUND = '404 extensions.not_found';
const RBAC = '403 root.unauthorized.rbac';

const MATRIX: Row[] = [
  {
    operation: 'list extensions',
    request: async () => ({ method: 'GET', path: '/api/v1/deployments/extensions' }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: 'create extension',
    request: async () => ({ method: 'POST', path: '/api/v1/deployments/extensions', json: { name: 'x', version: '*', extension_type: 'bundle' } }),
    expect: { ece_platform_admin: 201, ece_platform_viewer: RBAC, ece_deployment_manager: 201, ece_deployment_viewer: RBAC },
  },
  {
    operation: "get another's extension",
    request: async () => ({ method: 'GET', path: `/api/v1/deployments/extensions/${await createExtension()}` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: "update another's extension",
    request: async () => ({ method: 'POST', path: `/api/v1/deployments/extensions/${await createExtension()}`, json: ext }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: UNAUTHORISED, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: "upload to another's extension",
    request: async () => ({ method: 'PUT', path: `/api/v1/deployments/extensions/${await createExtension()}`, body: zip }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: UNAUTHORISED, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: "delete another's extension",
    request: async () => ({ method: 'DELETE', path: `/api/v1/deployments/extensions/${await createExtension()}` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: UNAUTHORISED, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: 'get own extension',
    request: async (role) => {
      const own = await ownExtension(role);
      return { method: 'GET', path: `/api/v1/deployments/extensions/${own.id}`, authorization: own.authorization };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: 'update own extension',
    request: async (role) => {
      const own = await ownExtension(role);
      return { method: 'POST', path: `/api/v1/deployments/extensions/${own.id}`, json: ext, authorization: own.authorization };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: UNAUTHORISED, ece_deployment_manager: 200, ece_deployment_viewer: UNAUTHORISED },
  },
  {
    operation: 'upload to own extension',
    request: async (role) => {
      const own = await ownExtension(role);
      return { method: 'PUT', path: `/api/v1/deployments/extensions/${own.id}`, body: zip, authorization: own.authorization };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: UNAUTHORISED, ece_deployment_manager: 200, ece_deployment_viewer: UNAUTHORISED },
  },
  {
    operation: 'delete own extension',
    request: async (role) => {
      const own = await ownExtension(role);
      return { method: 'DELETE', path: `/api/v1/deployments/extensions/${own.id}`, authorization: own.authorization };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: UNAUTHORISED, ece_deployment_manager: 200, ece_deployment_viewer: UNAUTHORISED },
  },
  {
    operation: 'list users',
    request: async () => ({ method: 'GET', path: '/api/v1/users' }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: 'get another user',
    request: async () => ({ method: 'GET', path: `/api/v1/users/${(await otherUserWithKey()).name}` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: 'create user',
    request: async () => ({
      method: 'POST',
      path: '/api/v1/users',
      json: { user_name: `new-${randomUUID().slice(0, 8)}`, security: { roles: [], password: PASSWORD } },
    }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: 'update another user',
    request: async () => ({ method: 'PATCH', path: `/api/v1/users/${(await otherUserWithKey()).name}`, json: { full_name: 'X' } }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: 'delete another user',
    request: async () => ({ method: 'DELETE', path: `/api/v1/users/${(await otherUserWithKey()).name}` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: 'get current user',
    request: async () => ({ method: 'GET', path: '/api/v1/user' }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: 'update current user (full_name)',
    request: async () => ({ method: 'PATCH', path: '/api/v1/user', json: { full_name: 'Me' } }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: 'update own roles through /user',
    request: async () => ({ method: 'PATCH', path: '/api/v1/user', json: { security: { roles: ['ece_platform_admin', 'ece_deployment_manager'] } } }),
    expect: {
      ece_platform_admin: '400 user.restricted_field',
      ece_platform_viewer: '400 user.restricted_field',
      ece_deployment_manager: '400 user.restricted_field',
      ece_deployment_viewer: '400 user.restricted_field',
    },
  },
  {
    operation: 'list own API keys',
    request: async () => ({ method: 'GET', path: '/api/v1/users/auth/keys' }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: 'create own API key',
    request: async () => ({ method: 'POST', path: '/api/v1/users/auth/keys', json: { description: 'mine' } }),
    expect: { ece_platform_admin: 201, ece_platform_viewer: 201, ece_deployment_manager: 201, ece_deployment_viewer: 201 },
  },
  {
    operation: 'get own API key',
    request: async (role) => {
      const created = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'g' }, headers: { authorization: keys[role] } });
      return { method: 'GET', path: `/api/v1/users/auth/keys/${created.body.id}` };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: 'delete own API key',
    request: async (role) => {
      const created = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'd' }, headers: { authorization: keys[role] } });
      return { method: 'DELETE', path: `/api/v1/users/auth/keys/${created.body.id}` };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: 'delete own API keys (several)',
    request: async (role) => {
      const created = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'd' }, headers: { authorization: keys[role] } });
      return { method: 'DELETE', path: '/api/v1/users/auth/keys', json: { keys: [created.body.id] } };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: "get another's API key as own",
    request: async () => ({ method: 'GET', path: `/api/v1/users/auth/keys/${(await otherUserWithKey()).keyId}` }),
    expect: {
      ece_platform_admin: '404 api_keys.key_not_found',
      ece_platform_viewer: '404 api_keys.key_not_found',
      ece_deployment_manager: '404 api_keys.key_not_found',
      ece_deployment_viewer: '404 api_keys.key_not_found',
    },
  },
  {
    operation: "list everyone's API keys (_all)",
    request: async () => ({ method: 'GET', path: '/api/v1/users/auth/keys/_all' }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: "delete others' API keys (_all)",
    request: async () => {
      const t = await otherUserWithKey();
      return { method: 'DELETE', path: '/api/v1/users/auth/keys/_all', json: { user_api_keys: [{ user_id: t.name, api_key_id: t.keyId }] } };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: "list a user's API keys",
    request: async () => ({ method: 'GET', path: `/api/v1/users/${(await otherUserWithKey()).name}/auth/keys` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: "get a user's API key",
    request: async () => {
      const t = await otherUserWithKey();
      return { method: 'GET', path: `/api/v1/users/${t.name}/auth/keys/${t.keyId}` };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: "delete a user's API keys",
    request: async () => ({ method: 'DELETE', path: `/api/v1/users/${(await otherUserWithKey()).name}/auth/keys` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: "delete a user's API key",
    request: async () => {
      const t = await otherUserWithKey();
      return { method: 'DELETE', path: `/api/v1/users/${t.name}/auth/keys/${t.keyId}` };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
  {
    operation: 'read the audit log',
    request: async () => ({ method: 'GET', path: '/api/v1/audit' }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: RBAC, ece_deployment_viewer: RBAC },
  },
];

describe('permission matrix', () => {
  for (const row of MATRIX) {
    for (const role of ROLES) {
      test(`${role} × ${row.operation} → ${row.expect[role]}`, async () => {
        const request = await row.request(role);
        const response = await server.api(request.method, request.path, {
          ...(request.json !== undefined ? { json: request.json } : {}),
          ...(request.body !== undefined
            ? { body: request.body, headers: { authorization: request.authorization ?? keys[role], 'content-type': 'application/zip' } }
            : { headers: { authorization: request.authorization ?? keys[role] } }),
        });
        const expected = row.expect[role];
        if (typeof expected === 'number') {
          assert.equal(response.status, expected, response.text);
        } else {
          const [status, code] = expected.split(' ');
          assert.equal(response.status, Number(status), response.text);
          assert.equal(response.body.errors[0].code, code);
        }
      });
    }
  }

  test('the list shows the caller its own extensions, and platform roles all of them', async () => {
    const adminOwned = await createExtension();
    const managerOwned = await createExtension(keys.ece_deployment_manager);
    const idsFor = async (role: Role) =>
      (
        (await server.api('GET', '/api/v1/deployments/extensions', { headers: { authorization: keys[role] } })).body.extensions as Array<{
          id: string;
        }>
      ).map((e) => e.id);
    for (const role of ['ece_platform_admin', 'ece_platform_viewer'] as const) {
      const ids = await idsFor(role);
      assert.ok(ids.includes(adminOwned) && ids.includes(managerOwned), role);
    }
    const manager = await idsFor('ece_deployment_manager');
    assert.ok(manager.includes(managerOwned) && !manager.includes(adminOwned));
    assert.ok(!(await idsFor('ece_deployment_viewer')).includes(managerOwned));
  });

  test('a key limited to fewer roles than its user has only those', async () => {
    const limited = await server.api('POST', '/api/v1/users/auth/keys', {
      json: { description: 'read-only', role_assignments: { platform: [{ role_id: 'ece_platform_viewer' }] } },
    });
    assert.equal(limited.status, 201, limited.text);
    assert.deepEqual(limited.body.role_assignments, { platform: [{ role_id: 'ece_platform_viewer' }] });
    const authorization = `ApiKey ${limited.body.key}`;
    assert.equal((await server.api('GET', '/api/v1/users', { headers: { authorization } })).status, 200);
    assert.equal(
      (await server.api('POST', '/api/v1/users', { json: { user_name: 'nope', security: { password: PASSWORD } }, headers: { authorization } }))
        .status,
      403,
    );
    const beyond = await server.api('POST', '/api/v1/users/auth/keys', {
      json: { description: 'more', role_assignments: { platform: [{ role_id: 'ece_platform_admin' }] } },
      headers: { authorization },
    });
    assert.equal(beyond.status, 403);
    assert.equal(beyond.body.errors[0].code, 'root.unauthorized.rbac');
  });
});

describe('two users', () => {
  test("cannot see, change or even detect each other's extensions", async () => {
    await createUser('alice', ['ece_deployment_manager']);
    await createUser('bob', ['ece_deployment_manager']);
    const aliceExt = await createExtension(basic('alice'));
    const bobExt = await createExtension(basic('bob'));
    const missing = '9999999999';
    const asBob = { authorization: basic('bob') };
    const list = await server.api('GET', '/api/v1/deployments/extensions', { headers: asBob });
    assert.deepEqual(
      list.body.extensions.map((e: { id: string }) => e.id),
      [bobExt],
    );
    for (const [method, json] of [
      ['GET', undefined],
      ['POST', ext],
      ['DELETE', undefined],
    ] as const) {
      const theirs = await server.api(method, `/api/v1/deployments/extensions/${aliceExt}`, { headers: asBob, ...(json ? { json } : {}) });
      const nothing = await server.api(method, `/api/v1/deployments/extensions/${missing}`, { headers: asBob, ...(json ? { json } : {}) });
      assert.equal(theirs.status, 404);
      assert.equal(theirs.body.errors[0].code, 'extensions.not_found');
      // Same answer, apart from the id, as for an id that does not exist.
      assert.equal(theirs.body.errors[0].message.replace(aliceExt, 'ID'), nothing.body.errors[0].message.replace(missing, 'ID'));
    }
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${aliceExt}`, { headers: { authorization: basic('alice') } })).status, 200);
  });
});

describe('a new installation, as a new user would try it', () => {
  test('log in as admin, create a deployment manager, give it a key, create and upload; a viewer key reads but cannot delete', async () => {
    const fresh = await startServer({ EXTREPO_ADMIN_API_KEY: '' });
    try {
      const password = fresh.app.generatedAdminPassword!;
      assert.ok(password);
      const noKey = { authorization: '' };
      const login = await fresh.api('POST', '/api/v1/users/auth/_login', { json: { username: 'admin', password }, headers: noKey });
      assert.equal(login.status, 200);
      const admin = { authorization: `Bearer ${login.body.token}` };
      const created = await fresh.api('POST', '/api/v1/users', {
        json: { user_name: 'deployer', full_name: 'CI deployer', security: { roles: ['ece_deployment_manager'], password: 'Pipeline-secret-42' } },
        headers: admin,
      });
      assert.equal(created.status, 200, created.text);
      // The admin gives the new user an API key.
      const userKey = await fresh.api('POST', '/api/v1/users/auth/keys', {
        json: { description: 'deployer key' },
        headers: { authorization: `Basic ${Buffer.from('deployer:Pipeline-secret-42').toString('base64')}` },
      });
      assert.equal(userKey.status, 201);
      const deployer = { authorization: `ApiKey ${userKey.body.key}` };
      const extension = await fresh.api('POST', '/api/v1/deployments/extensions', {
        json: { name: 'synonyms', version: '*', extension_type: 'bundle' },
        headers: deployer,
      });
      assert.equal(extension.status, 201);
      const upload = await fresh.api('PUT', `/api/v1/deployments/extensions/${extension.body.id}`, {
        body: zip,
        headers: { ...deployer, 'content-type': 'application/zip' },
      });
      assert.equal(upload.status, 200, upload.text);
      // The admin's viewer key: made by the first user, limited to ece_platform_viewer.
      const viewerKey = await fresh.api('POST', '/api/v1/users/auth/keys', {
        json: { description: 'viewer', role_assignments: { platform: [{ role_id: 'ece_platform_viewer' }] } },
        headers: admin,
      });
      const viewer = { authorization: `ApiKey ${viewerKey.body.key}` };
      const read = await fresh.api('GET', `/api/v1/deployments/extensions/${extension.body.id}`, { headers: viewer });
      assert.equal(read.status, 200);
      assert.equal(read.body.file_metadata.size, zip.length);
      const del = await fresh.api('DELETE', `/api/v1/deployments/extensions/${extension.body.id}`, { headers: viewer });
      assert.equal(del.status, 401);
      assert.equal(del.body.errors[0].code, 'extensions.unauthorised');
    } finally {
      await fresh.close();
    }
  });
});
