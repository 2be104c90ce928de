// extrepo-test-backends: each
// The CLI's extension, user, key and audit commands: a table for people, the API's exact JSON with
// --json, rm's confirmation rule, and exit codes (1 with the server's code and message).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bundleZip } from './helpers/archives.js';
import { assertBuildIsFresh, CliHome } from './helpers/cli.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let home: CliHome;
let tmp: string;
let zipOrigin: http.Server;
let zipUrl: string;
let id: string;

before(async () => {
  await assertBuildIsFresh();
  const zip = await bundleZip();
  zipOrigin = http.createServer((_request, response) => response.end(zip));
  await new Promise<void>((resolve) => zipOrigin.listen(0, '127.0.0.1', resolve));
  zipUrl = `http://127.0.0.1:${(zipOrigin.address() as AddressInfo).port}/synonyms.zip`;
  server = await startServer({ EXTREPO_DOWNLOAD_ALLOW_HOSTS: '127.0.0.1' });
  home = await CliHome.create();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'extrepo-cli-ext-'));
  const login = await home.run(['login', '--url', server.url, '--api-key', ADMIN_KEY]);
  assert.equal(login.code, 0, login.stderr);
  await writeFile(path.join(tmp, 'synonyms.zip'), zip);
  const pushed = await home.run(['push', path.join(tmp, 'synonyms.zip'), '--json']);
  assert.equal(pushed.code, 0, pushed.stderr);
  id = JSON.parse(pushed.stdout).id;
});
after(async () => {
  await home.remove();
  await rm(tmp, { recursive: true, force: true });
  await server.close();
  await new Promise((resolve) => zipOrigin.close(resolve));
});

describe('create and update', () => {
  test('create --download-url: the server copies the file', async () => {
    const result = await home.run(['create', '--download-url', zipUrl, '--name', 'copied', '--version', '*', '--type', 'bundle', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const extension = JSON.parse(result.stdout);
    assert.equal(extension.download_url, zipUrl);
    assert.ok(extension.file_metadata.size > 0);
  });

  test('create without a required option is a usage error (exit 2)', async () => {
    const result = await home.run(['create', '--download-url', zipUrl, '--name', 'x', '--type', 'bundle']);
    assert.equal(result.code, 2);
  });

  test('update changes only what is given and keeps the rest', async () => {
    const result = await home.run(['update', id, '--description', 'Company synonyms', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const updated = JSON.parse(result.stdout);
    assert.equal(updated.description, 'Company synonyms');
    assert.equal(updated.name, 'synonyms');
    assert.equal(updated.version, '*');
    assert.ok(updated.file_metadata, 'the file is kept');
  });

  test("a rejected update prints the server's code and message (exit 1)", async () => {
    const result = await home.run(['update', '9999999999', '--description', 'x']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim(), 'extrepo: extensions.not_found: Extension [9999999999] not found.');
  });
});

describe('ls and show', () => {
  test("ls --json is the API's answer; ls is a table with one row per extension", async () => {
    const api = await server.api('GET', '/api/v1/deployments/extensions');
    const json = await home.run(['ls', '--json']);
    assert.equal(json.code, 0, json.stderr);
    // file_metadata.url is signed afresh on every answer.
    const unsigned = (body: { extensions: Array<{ file_metadata?: { url?: string } }> }) =>
      body.extensions.map((extension) => ({ ...extension, file_metadata: { ...extension.file_metadata, url: undefined } }));
    assert.deepEqual(unsigned(JSON.parse(json.stdout)), unsigned(api.body));
    const table = await home.run(['ls']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+NAME\s+VERSION\s+TYPE\s+SIZE\s+MODIFIED$/);
    assert.equal(lines.length, 1 + api.body.extensions.length);
    assert.ok(lines.some((line) => line.startsWith(id) && /\ssynonyms\s+\*\s+bundle\s/.test(line)));
  });

  test('ls --type filters', async () => {
    const result = await home.run(['ls', '--type', 'plugin', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { extensions: [] });
  });

  test("show --json is the API's answer; show is key: value lines", async () => {
    const api = await server.api('GET', `/api/v1/deployments/extensions/${id}`);
    const json = await home.run(['show', id, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const shown = JSON.parse(json.stdout);
    delete shown.file_metadata.url; // a fresh signature each time
    delete api.body.file_metadata.url;
    assert.deepEqual(shown, api.body);
    const text = await home.run(['show', id]);
    assert.match(text.stdout, new RegExp(`^id:\\s+${id}$`, 'm'));
    assert.match(text.stdout, /^sha256:\s+[0-9a-f]{64}$/m);
  });
});

describe('rm', () => {
  test('without --yes and without a terminal, rm refuses (exit 2) and deletes nothing', async () => {
    const result = await home.run(['rm', id]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /without confirmation: stdin is not a terminal; pass --yes/);
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${id}`)).status, 200);
  });

  test('rm --yes deletes; a second time it is not found (exit 1)', async () => {
    const result = await home.run(['rm', id, '--yes']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${id}`)).status, 404);
    const again = await home.run(['rm', id, '--yes']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^extrepo: extensions\.not_found: /);
  });
});

describe('users, keys and audit', () => {
  test('users create (password from stdin), users ls, users show, users rm', async () => {
    const created = await home.run(['users', 'create', 'ci', '--role', 'ece_deployment_manager', '--json'], { input: 'a long passphrase\n' });
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout).security.roles, ['ece_deployment_manager']);
    const list = await home.run(['users', 'ls', '--json']);
    assert.ok(JSON.parse(list.stdout).users.some((user: { user_name: string }) => user.user_name === 'ci'));
    const show = await home.run(['users', 'show', 'ci']);
    assert.match(show.stdout, /^roles:\s+ece_deployment_manager$/m);
    const other = await CliHome.create();
    try {
      const login = await other.run(['login', '--url', server.url, '--user', 'ci'], { input: 'a long passphrase\n' });
      assert.equal(login.code, 0, login.stderr);
      const forbidden = await other.run(['users', 'rm', 'admin']);
      assert.equal(forbidden.code, 1);
      assert.match(forbidden.stderr, /root\.unauthorized\.rbac/);
      assert.equal((await other.run(['logout'])).code, 0);
    } finally {
      await other.remove();
    }
    const removed = await home.run(['users', 'rm', 'ci']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((await home.run(['users', 'show', 'ci'])).code, 1);
  });

  test('keys create prints the key once on stdout; keys ls lists it; keys rm deletes it', async () => {
    const created = await home.run(['keys', 'create', '--description', 'pipeline']);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    const keyId = key.split('.')[0]!;
    const whoami = await home.run(['whoami', '--json'], { env: { EXTREPO_API_KEY: key } });
    assert.equal(JSON.parse(whoami.stdout).api_key_id, keyId);
    const list = await home.run(['keys', 'ls', '--json']);
    assert.ok(JSON.parse(list.stdout).keys.some((entry: { id: string }) => entry.id === keyId));
    assert.equal((await home.run(['keys', 'rm', keyId])).code, 0);
    assert.equal((await home.run(['whoami'], { env: { EXTREPO_API_KEY: key } })).code, 1);
  });

  test('audit shows the trail, filtered', async () => {
    const result = await home.run(['audit', '--action', 'delete-extension', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout);
    assert.ok(answer.records.length > 0);
    assert.ok(answer.records.every((record: { action: string }) => record.action === 'delete-extension'));
    const table = await home.run(['audit', '--size', '5']);
    assert.match(table.stdout, /^TIME\s+USER\s+ACTION\s+TARGET\s+OUTCOME\s+STATUS$/m);
  });
});
