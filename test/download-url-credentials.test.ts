// extrepo-test-backends: each
// download_url credentials (issue 9.9): `http://user:password@host/…` is returned verbatim to whoever
// may change the extension (Terraform compares it with what it stored), with the password masked
// for every other reader; it never reaches the audit trail or the log.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bundleZip } from './helpers/archives.js';
import { startInstance } from './helpers/instance.js';
import { startServer, type TestServer } from './helpers/server.js';

const SECRET = 'pa55-s3cret-word';
const PASSWORD = 'Credentials-password-0123';
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

let server: TestServer;
let files: http.Server;
let port: number;
let downloadUrl: string;

before(async () => {
  const bundle = await bundleZip('behind a password\n');
  files = http.createServer((request, response) => {
    if (request.headers.authorization !== `Basic ${Buffer.from(`reader:${SECRET}`).toString('base64')}`) {
      response.writeHead(401).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/zip' }).end(bundle);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  port = (files.address() as AddressInfo).port;
  downloadUrl = `http://reader:${SECRET}@127.0.0.1:${port}/private.zip`;
  server = await startServer({ EXTREPO_DOWNLOAD_ALLOW_HOSTS: '127.0.0.1' });
  for (const [name, role] of [
    ['cred-manager', 'ece_deployment_manager'],
    ['cred-viewer', 'ece_platform_viewer'],
  ] as const) {
    const created = await server.api('POST', '/api/v1/users', { json: { user_name: name, security: { roles: [role], password: PASSWORD } } });
    assert.equal(created.status, 200, created.text);
  }
});
after(async () => {
  await server.close();
  files.closeAllConnections();
  await new Promise((resolve) => files.close(resolve));
});

const masked = () => `http://reader:****@127.0.0.1:${port}/private.zip`;

test('the owner and admins see download_url verbatim; a platform viewer sees the password masked, in GET and list', async () => {
  const created = await server.api('POST', '/api/v1/deployments/extensions', {
    json: { name: 'with-credentials', version: '*', extension_type: 'bundle', download_url: downloadUrl },
    headers: { authorization: basic('cred-manager') },
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.download_url, downloadUrl);
  const id = created.body.id as string;
  for (const authorization of [basic('cred-manager'), undefined]) {
    const got = await server.api('GET', `/api/v1/deployments/extensions/${id}`, authorization ? { headers: { authorization } } : {});
    assert.equal(got.body.download_url, downloadUrl);
  }
  const asViewer = { headers: { authorization: basic('cred-viewer') } };
  const got = await server.api('GET', `/api/v1/deployments/extensions/${id}`, asViewer);
  assert.equal(got.status, 200);
  assert.equal(got.body.download_url, masked());
  assert.ok(!got.text.includes(SECRET));
  // The owner's GET is cached per record; the viewer's answer must not be served from it, nor the reverse.
  assert.equal(
    (await server.api('GET', `/api/v1/deployments/extensions/${id}`, { headers: { authorization: basic('cred-manager') } })).body.download_url,
    downloadUrl,
  );
  const list = await server.api('GET', '/api/v1/deployments/extensions', asViewer);
  const listed = (list.body.extensions as Array<{ id: string; download_url?: string }>).find((e) => e.id === id);
  assert.equal(listed?.download_url, masked());
  assert.ok(!list.text.includes(SECRET));
  const adminList = await server.api('GET', '/api/v1/deployments/extensions');
  assert.equal((adminList.body.extensions as Array<{ id: string; download_url?: string }>).find((e) => e.id === id)?.download_url, downloadUrl);
});

test("a page of the browsed list (the console's table) masks the password for a viewer too, and not for the owner", async () => {
  const asViewer = { headers: { authorization: basic('cred-viewer') } };
  const page = await server.api('GET', '/api/v1/deployments/extensions?search=with-credentials', asViewer);
  assert.equal(page.status, 200);
  assert.equal(page.body.extensions[0]?.download_url, masked());
  assert.ok(!page.text.includes(SECRET));
  const own = await server.api('GET', '/api/v1/deployments/extensions?search=with-credentials', {
    headers: { authorization: basic('cred-manager') },
  });
  assert.equal(own.body.extensions[0]?.download_url, downloadUrl);
});

test("the file history shows a copy's download_url as the extension shows it: the password masked for a viewer", async () => {
  const id = (await server.api('GET', '/api/v1/deployments/extensions?search=with-credentials')).body.extensions[0].id as string;
  const asViewer = { headers: { authorization: basic('cred-viewer') } };
  const listed = await server.api('GET', `/api/v1/deployments/extensions/${id}/versions`, asViewer);
  assert.equal(listed.status, 200);
  assert.equal(listed.body.versions[0]?.source.download_url, masked());
  assert.ok(!listed.text.includes(SECRET));
  const one = await server.api('GET', `/api/v1/deployments/extensions/${id}/versions/${listed.body.versions[0].version}`, asViewer);
  assert.equal(one.body.source.download_url, masked());
  const own = await server.api('GET', `/api/v1/deployments/extensions/${id}/versions`, { headers: { authorization: basic('cred-manager') } });
  assert.equal(own.body.versions[0]?.source.download_url, downloadUrl);
});

test('the audit trail holds no download_url password', async () => {
  const page = await server.api('GET', '/api/v1/audit?size=1000');
  assert.equal(page.status, 200);
  assert.ok(page.body.records.some((r: { action: string }) => r.action === 'create-extension'));
  assert.ok(!page.text.includes(SECRET));
});

test('the log holds no download_url password, for successes and failures alike', async () => {
  const key = 'credentials-log-test-key-0123456789';
  const instance = await startInstance({ EXTREPO_LOG_LEVEL: 'trace', EXTREPO_ADMIN_API_KEY: key, EXTREPO_DOWNLOAD_ALLOW_HOSTS: '127.0.0.1' });
  try {
    const create = (url: string) =>
      fetch(`${instance.url}/api/v1/deployments/extensions`, {
        method: 'POST',
        headers: { authorization: `ApiKey ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'logged', version: '*', extension_type: 'bundle', download_url: url }),
      });
    assert.equal((await create(downloadUrl)).status, 201);
    assert.equal((await create(`http://reader:${SECRET}x@127.0.0.1:${port}/private.zip`)).status, 400);
    await instance.stop();
    assert.ok(instance.output().includes('"msg":"request"'), 'requests are logged');
    assert.ok(!instance.output().includes(SECRET), 'the password was logged');
  } finally {
    await instance.kill();
  }
});
