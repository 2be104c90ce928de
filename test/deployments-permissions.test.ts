// extrepo-test-backends: each
// Who may do what with deployments (the extensions' rules: a deployment belongs to its creator;
// platform admins and viewers see all, others their own; admins change any, deployment managers
// their own), what include_deployments and the in-use message reveal to whom, and the audit trail.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createDeployment, createRequest, DEPLOYMENTS, entry, EXTENSIONS, extensionWithFile, updateRequest } from './helpers/deployments.js';
import { startServer, type TestServer } from './helpers/server.js';

const ROLES = ['ece_platform_admin', 'ece_platform_viewer', 'ece_deployment_manager', 'ece_deployment_viewer'] as const;
type Role = (typeof ROLES)[number];
const PASSWORD = 'Deployments-password-0123456789';
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

let server: TestServer;
const keys = {} as Record<Role, string>;

before(async () => {
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: 'Admin-password-0123456789' });
  for (const role of ROLES) {
    const name = `dep-${role}`;
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

/** A deployment owned by a fresh user created as a deployment manager, whose role is then `role`. */
async function ownDeployment(role: Role): Promise<{ id: string; authorization: string }> {
  const name = `owner-${randomUUID().slice(0, 8)}`;
  await createUser(name, ['ece_deployment_manager']);
  const id = await createDeployment(server, createRequest(), basic(name));
  const patched = await server.api('PATCH', `/api/v1/users/${name}`, { json: { security: { roles: [role] } } });
  assert.equal(patched.status, 200, patched.text);
  return { id, authorization: basic(name) };
}

async function shutDown(id: string): Promise<string> {
  assert.equal((await server.api('POST', `${DEPLOYMENTS}/${id}/_shutdown`)).status, 200);
  return id;
}

const RBAC = '403 root.unauthorized.rbac';
const NOT_FOUND = '404 deployments.deployment_not_found';

interface Row {
  operation: string;
  request: (role: Role) => Promise<{ method: string; path: string; json?: unknown; authorization?: string }>;
  expect: Record<Role, number | string>;
}

const others = () => createDeployment(server, createRequest());

const MATRIX: Row[] = [
  {
    operation: 'list deployments',
    request: async () => ({ method: 'GET', path: DEPLOYMENTS }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: 'create a deployment',
    request: async () => ({ method: 'POST', path: DEPLOYMENTS, json: createRequest() }),
    expect: { ece_platform_admin: 201, ece_platform_viewer: RBAC, ece_deployment_manager: 201, ece_deployment_viewer: RBAC },
  },
  {
    operation: "get another's deployment",
    request: async () => ({ method: 'GET', path: `${DEPLOYMENTS}/${await others()}` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: "update another's deployment",
    request: async () => ({ method: 'PUT', path: `${DEPLOYMENTS}/${await others()}`, json: updateRequest() }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: "shut down another's deployment",
    request: async () => ({ method: 'POST', path: `${DEPLOYMENTS}/${await others()}/_shutdown` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: "delete another's shut-down deployment",
    request: async () => ({ method: 'DELETE', path: `${DEPLOYMENTS}/${await shutDown(await others())}` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: "read another's plugin file",
    request: async () => ({ method: 'GET', path: `${DEPLOYMENTS}/${await others()}/bundles` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: "rotate another's install secret",
    request: async () => ({ method: 'POST', path: `${DEPLOYMENTS}/${await others()}/_rotate_install_secret` }),
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: NOT_FOUND, ece_deployment_viewer: NOT_FOUND },
  },
  {
    operation: 'get own deployment',
    request: async (role) => {
      const own = await ownDeployment(role);
      return { method: 'GET', path: `${DEPLOYMENTS}/${own.id}`, authorization: own.authorization };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: 200, ece_deployment_manager: 200, ece_deployment_viewer: 200 },
  },
  {
    operation: 'update own deployment',
    request: async (role) => {
      const own = await ownDeployment(role);
      return { method: 'PUT', path: `${DEPLOYMENTS}/${own.id}`, json: updateRequest(), authorization: own.authorization };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: 200, ece_deployment_viewer: RBAC },
  },
  {
    operation: 'shut down own deployment',
    request: async (role) => {
      const own = await ownDeployment(role);
      return { method: 'POST', path: `${DEPLOYMENTS}/${own.id}/_shutdown`, authorization: own.authorization };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: 200, ece_deployment_viewer: RBAC },
  },
  {
    operation: 'delete own shut-down deployment',
    request: async (role) => {
      const own = await ownDeployment(role);
      await shutDown(own.id);
      return { method: 'DELETE', path: `${DEPLOYMENTS}/${own.id}`, authorization: own.authorization };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: 200, ece_deployment_viewer: RBAC },
  },
  {
    operation: 'rotate own install secret',
    request: async (role) => {
      const own = await ownDeployment(role);
      return { method: 'POST', path: `${DEPLOYMENTS}/${own.id}/_rotate_install_secret`, authorization: own.authorization };
    },
    expect: { ece_platform_admin: 200, ece_platform_viewer: RBAC, ece_deployment_manager: 200, ece_deployment_viewer: RBAC },
  },
];

describe('permission matrix', () => {
  for (const row of MATRIX) {
    for (const role of ROLES) {
      test(`${role} × ${row.operation} → ${row.expect[role]}`, async () => {
        const request = await row.request(role);
        const response = await server.api(request.method, request.path, {
          ...(request.json !== undefined ? { json: request.json } : {}),
          headers: { authorization: request.authorization ?? keys[role] },
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
});

describe('visibility', () => {
  test("a manager lists only its own deployments; a platform viewer lists everyone's", async () => {
    const mine = await createDeployment(server, createRequest(), keys.ece_deployment_manager);
    const theirs = await others();
    const managerList = (await server.api('GET', DEPLOYMENTS, { headers: { authorization: keys.ece_deployment_manager } })).body.deployments.map(
      (d: { id: string }) => d.id,
    );
    assert.ok(managerList.includes(mine));
    assert.ok(!managerList.includes(theirs));
    const viewerList = (await server.api('GET', DEPLOYMENTS, { headers: { authorization: keys.ece_platform_viewer } })).body.deployments.map(
      (d: { id: string }) => d.id,
    );
    assert.ok(viewerList.includes(mine) && viewerList.includes(theirs));
  });

  test('a plan may not reference an extension the caller may not see: it reads as one that does not exist', async () => {
    const adminBundle = await extensionWithFile(server, 'bundle', '*');
    const response = await server.api('POST', DEPLOYMENTS, {
      json: createRequest({ bundles: [entry(adminBundle.id)] }),
      headers: { authorization: keys.ece_deployment_manager },
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].code, 'clusters.cluster_invalid_plan');
    assert.match(response.body.errors[0].message, /does not exist or which you may not use/);
  });

  test('include_deployments and the in-use message show a manager only the deployments it may see', async () => {
    const bundle = await extensionWithFile(server, 'bundle', '*', keys.ece_deployment_manager);
    const own = await createDeployment(server, createRequest({ name: 'managers-own', bundles: [entry(bundle.id)] }), keys.ece_deployment_manager);
    const adminsDeployment = await createDeployment(server, createRequest({ name: 'admins-secret', bundles: [entry(bundle.id)] }));
    const asManager = await server.api('GET', `${EXTENSIONS}/${bundle.id}?include_deployments=true`, {
      headers: { authorization: keys.ece_deployment_manager },
    });
    assert.deepEqual(asManager.body.deployments, [own]);
    const asAdmin = await server.api('GET', `${EXTENSIONS}/${bundle.id}?include_deployments=true`);
    assert.deepEqual(asAdmin.body.deployments, [own, adminsDeployment]);
    const refused = await server.api('DELETE', `${EXTENSIONS}/${bundle.id}`, { headers: { authorization: keys.ece_deployment_manager } });
    assert.equal(refused.status, 400);
    assert.equal(
      refused.body.errors[0].message,
      `Cannot delete extension [${bundle.id}]. It is used by deployments [managers-own, 1 more you may not see].`,
    );
    const asAdminDelete = await server.api('DELETE', `${EXTENSIONS}/${bundle.id}`);
    assert.equal(
      asAdminDelete.body.errors[0].message,
      `Cannot delete extension [${bundle.id}]. It is used by deployments [managers-own, admins-secret].`,
    );
  });
});

describe('audit', () => {
  test('every deployment change is in the audit trail with the deployment id as target, failures included', async () => {
    const id = await createDeployment(server, createRequest());
    await server.api('PUT', `${DEPLOYMENTS}/${id}`, { json: updateRequest() });
    await server.api('DELETE', `${DEPLOYMENTS}/${id}`);
    await server.api('POST', `${DEPLOYMENTS}/${id}/_rotate_install_secret`);
    await server.api('POST', `${DEPLOYMENTS}/${id}/_shutdown`);
    await server.api('DELETE', `${DEPLOYMENTS}/${id}`);
    const page = await server.api('GET', `/api/v1/audit?size=100&target=${id}`);
    const seen = (page.body.records as Array<{ action: string; outcome: string; error_code?: string }>)
      .map((r) => `${r.action} ${r.outcome}${r.error_code ? ` ${r.error_code}` : ''}`)
      .reverse();
    assert.deepEqual(seen, [
      'create-deployment success',
      'update-deployment success',
      'delete-deployment failure deployments.resource_not_shutdown',
      'rotate-deployment-install-secret success',
      'shutdown-deployment success',
      'delete-deployment success',
    ]);
  });
});
