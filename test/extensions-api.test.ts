// extrepo-test-backends: each
// The metadata operations of the Extensions API over real HTTP: create, get, list, update, delete,
// their headers and status codes, and the wire quirks of Elastic's real clients (docs/client-compatibility.md).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { bundleZip } from './helpers/archives.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function create(body: Record<string, unknown>) {
  const response = await server.api('POST', '/api/v1/deployments/extensions', { json: body });
  assert.equal(response.status, 201, response.text);
  return response;
}

describe('create', () => {
  test('answers exactly 201 with a 10-digit id, repo:// url and resource headers, and no file_metadata', async () => {
    const response = await create({ name: 'synonyms', version: '*', extension_type: 'bundle', description: 'Synonyms' });
    const body = response.body;
    assert.match(body.id, /^\d{10}$/);
    assert.equal(body.url, `repo://${body.id}`);
    assert.deepEqual(
      { name: body.name, version: body.version, extension_type: body.extension_type, description: body.description },
      { name: 'synonyms', version: '*', extension_type: 'bundle', description: 'Synonyms' },
    );
    assert.equal(body.file_metadata, undefined);
    assert.equal(body.download_url, undefined);
    assert.equal(body.deployments, undefined);
    assert.equal(response.headers.get('x-cloud-resource-version'), '1');
    assert.match(response.headers.get('x-cloud-resource-created')!, ISO_MS);
    assert.match(response.headers.get('x-cloud-resource-last-modified')!, ISO_MS);
  });

  test('accepts the Go SDK encoding: sorted keys, omitted empty strings, trailing newline', async () => {
    const goJson = '{"extension_type":"bundle","name":"go-client","version":"8.*"}\n';
    const response = await server.api('POST', '/api/v1/deployments/extensions', {
      body: goJson,
      headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'cloud-sdk-go/3.8.0' },
    });
    assert.equal(response.status, 201);
    assert.equal(response.body.name, 'go-client');
    assert.equal(response.body.description, undefined);
  });

  test('gives every new extension its own id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      ids.add((await create({ name: `unique-${i}`, version: '*', extension_type: 'bundle' })).body.id);
    }
    assert.equal(ids.size, 20);
  });

  test('an id collision is retried with a new id; only endless collisions give 409 extensions.id_already_exists', async () => {
    const ids = ['1111111111', '1111111111', '2222222222', '1111111111'];
    const colliding = await startServer({}, { newExtensionId: () => ids.shift() ?? '1111111111' });
    try {
      const body = { name: 'collide', version: '*', extension_type: 'bundle' };
      const first = await colliding.api('POST', '/api/v1/deployments/extensions', { json: body });
      assert.equal(first.body.id, '1111111111');
      const retried = await colliding.api('POST', '/api/v1/deployments/extensions', { json: body });
      assert.equal(retried.status, 201);
      assert.equal(retried.body.id, '2222222222');
      const exhausted = await colliding.api('POST', '/api/v1/deployments/extensions', { json: body });
      assert.equal(exhausted.status, 409);
      assert.equal(exhausted.body.errors[0].code, 'extensions.id_already_exists');
      assert.equal((await colliding.api('GET', '/api/v1/deployments/extensions')).body.extensions.length, 2);
    } finally {
      await colliding.close();
    }
  });

  const invalidBodies: Array<[string, Record<string, unknown>, string]> = [
    ['a name with a space', { name: 'My extension', version: '*', extension_type: 'bundle' }, 'name'],
    ['an empty name', { name: '', version: '*', extension_type: 'bundle' }, 'name'],
    ['a missing version', { name: 'x', extension_type: 'bundle' }, 'version'],
    ['a missing name', { version: '*', extension_type: 'bundle' }, 'name'],
    ['an unknown extension_type', { name: 'x', version: '*', extension_type: 'sometype' }, 'extension_type'],
    ['a number as name', { name: 42, version: '*', extension_type: 'bundle' }, 'name'],
    ['a wildcard version for a plugin', { name: 'x', version: '8.*', extension_type: 'plugin' }, 'version'],
    ['a malformed bundle version', { name: 'x', version: 'latest', extension_type: 'bundle' }, 'version'],
    ['a 256-character name', { name: 'n'.repeat(256), version: '*', extension_type: 'bundle' }, 'name'],
    ['a 65-character version', { name: 'x', version: '1.2.3-' + 'a'.repeat(59), extension_type: 'bundle' }, 'version'],
    ['a 4097-character description', { name: 'x', version: '*', extension_type: 'bundle', description: 'd'.repeat(4097) }, 'description'],
  ];
  for (const [what, body, field] of invalidBodies) {
    test(`rejects ${what} with 400 root.invalid_json_request naming ${field}`, async () => {
      const response = await server.api('POST', '/api/v1/deployments/extensions', { json: body });
      assert.equal(response.status, 400);
      assert.equal(response.body.errors[0].code, 'root.invalid_json_request');
      assert.ok(response.body.errors[0].fields.includes(field), JSON.stringify(response.body));
      assert.ok(response.body.errors[0].message.length > 10);
    });
  }

  test('rejects a download_url that is not http(s) with extensions.request_execution_failed', async () => {
    for (const url of ['ftp://example.com/x.zip', 'not a url', 'file:///etc/passwd']) {
      const response = await server.api('POST', '/api/v1/deployments/extensions', {
        json: { name: 'x', version: '*', extension_type: 'bundle', download_url: url },
      });
      assert.equal(response.status, 400);
      assert.equal(response.body.errors[0].code, 'extensions.request_execution_failed');
      assert.deepEqual(response.body.errors[0].fields, ['download_url']);
    }
  });

  test('rejects a download_url over 2048 characters', async () => {
    const response = await server.api('POST', '/api/v1/deployments/extensions', {
      json: { name: 'x', version: '*', extension_type: 'bundle', download_url: 'http://example.com/' + 'a'.repeat(2048) },
    });
    assert.equal(response.status, 400);
    assert.deepEqual(response.body.errors[0].fields, ['download_url']);
  });

  test('malformed JSON gives 400 root.invalid_json_request and creates nothing', async () => {
    const before = (await server.api('GET', '/api/v1/deployments/extensions')).body.extensions.length;
    const response = await server.api('POST', '/api/v1/deployments/extensions', {
      body: '{"name":"x",',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].code, 'root.invalid_json_request');
    const afterCount = (await server.api('GET', '/api/v1/deployments/extensions')).body.extensions.length;
    assert.equal(afterCount, before);
  });

  test('an empty body gives 400 naming the missing body', async () => {
    const response = await server.api('POST', '/api/v1/deployments/extensions', { body: '', headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].code, 'root.invalid_json_request');
  });

  test('a body that is not JSON gives 415 root.unsupported_media_type', async () => {
    const response = await server.api('POST', '/api/v1/deployments/extensions', {
      body: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(response.status, 415);
    assert.equal(response.body.errors[0].code, 'root.unsupported_media_type');
  });

  test('a JSON body over the limit gives 413 root.payload_too_large', async () => {
    const response = await server.api('POST', '/api/v1/deployments/extensions', {
      json: { name: 'x', version: '*', extension_type: 'bundle', description: 'd'.repeat(2 * 1024 * 1024) },
    });
    assert.equal(response.status, 413);
    assert.equal(response.body.errors[0].code, 'root.payload_too_large');
  });
});

describe('get', () => {
  test('returns the extension for include_deployments absent, false and true; deployments only when asked', async () => {
    const { body: created } = await create({ name: 'get-me', version: '8.*', extension_type: 'bundle' });
    for (const query of ['', '?include_deployments=false', '?include_deployments=true']) {
      const response = await server.api('GET', `/api/v1/deployments/extensions/${created.id}${query}`);
      assert.equal(response.status, 200);
      assert.equal(response.body.id, created.id);
      assert.equal(response.body.name, 'get-me');
      assert.equal(response.headers.get('x-cloud-resource-version'), '1');
      if (query.endsWith('true')) assert.deepEqual(response.body.deployments, []);
      else assert.equal(response.body.deployments, undefined);
    }
  });

  test('a GET after a change answers the change, not an earlier answer', async () => {
    const { body: created } = await create({ name: 'before', version: '*', extension_type: 'bundle' });
    const path = `/api/v1/deployments/extensions/${created.id}`;
    const first = await server.api('GET', path);
    assert.equal(first.body.name, 'before');
    assert.equal(first.body.file_metadata, undefined);
    await server.api('POST', path, { json: { name: 'after', version: '*', extension_type: 'bundle' } });
    const renamed = await server.api('GET', path);
    assert.equal(renamed.body.name, 'after');
    assert.equal(renamed.headers.get('x-cloud-resource-version'), '2');
    assert.notEqual(renamed.headers.get('x-cloud-resource-last-modified'), null);
    const uploaded = await server.api('PUT', path, { body: await bundleZip(), headers: { 'content-type': 'application/zip' } });
    assert.equal(uploaded.status, 200);
    const withFile = await server.api('GET', path);
    assert.equal(withFile.headers.get('x-cloud-resource-version'), '3');
    assert.equal(withFile.body.file_metadata.size, uploaded.body.file_metadata.size);
    assert.equal(withFile.body.deployments, undefined);
    const asked = await server.api('GET', `${path}?include_deployments=true`);
    assert.deepEqual(asked.body.deployments, []);
    // The same answer apart from deployments (the signed link may have moved on to the next minute).
    const sansLink = (body: any) => ({ ...body, deployments: undefined, file_metadata: { ...body.file_metadata, url: undefined } });
    assert.deepEqual(sansLink(asked.body), sansLink(withFile.body));
    await server.api('DELETE', path);
    assert.equal((await server.api('GET', path)).status, 404);
  });

  test('an unknown id gives 404 extensions.not_found', async () => {
    const response = await server.api('GET', '/api/v1/deployments/extensions/1234567890');
    assert.equal(response.status, 404);
    assert.equal(response.body.errors[0].code, 'extensions.not_found');
    assert.match(response.body.errors[0].message, /1234567890/);
  });

  test('a malformed include_deployments gives 400 naming it', async () => {
    const { body: created } = await create({ name: 'q', version: '*', extension_type: 'bundle' });
    const response = await server.api('GET', `/api/v1/deployments/extensions/${created.id}?include_deployments=maybe`);
    assert.equal(response.status, 400);
    assert.deepEqual(response.body.errors[0].fields, ['include_deployments']);
  });
});

describe('list', () => {
  test('lists every extension; deployments only with include_deployments=true (deprecated on list, still sent by older clients)', async () => {
    const { body: created } = await create({ name: 'listed', version: '*', extension_type: 'bundle' });
    for (const [query, deployments] of [
      ['', undefined],
      ['?include_deployments=false', undefined],
      ['?include_deployments=true', []],
    ] as const) {
      const response = await server.api('GET', `/api/v1/deployments/extensions${query}`);
      assert.equal(response.status, 200);
      const found = response.body.extensions.find((e: { id: string }) => e.id === created.id);
      assert.equal(found.name, 'listed');
      assert.deepEqual(found.deployments, deployments);
    }
  });

  test('a list longer than one page (2,500 extensions) is one valid document, in creation order, without gaps', async () => {
    const big = await startServer();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 2_500; i++) {
        const id = String(1_000_000_000 + i);
        ids.push(id);
        await big.store.insertExtension({
          id,
          name: `bulk-${i}`,
          version: '*',
          extensionType: 'bundle',
          description: null,
          downloadUrl: null,
          file: null,
          ownerId: 'admin',
          now: new Date(1_700_000_000_000 + i),
        });
      }
      const response = await big.api('GET', '/api/v1/deployments/extensions');
      assert.equal(response.status, 200);
      assert.deepEqual(
        response.body.extensions.map((e: { id: string }) => e.id),
        ids,
      );
      assert.equal(response.body.extensions[2_499].url, 'repo://1000002499');
    } finally {
      await big.close();
    }
  });

  test('an empty repository lists {"extensions":[]}', async () => {
    const empty = await startServer();
    try {
      const response = await empty.api('GET', '/api/v1/deployments/extensions');
      assert.equal(response.status, 200);
      assert.equal(response.text, '{"extensions":[]}');
    } finally {
      await empty.close();
    }
  });
});

describe('update', () => {
  test('replaces name, version, description and download_url, keeps extension_type, and GET returns it verbatim', async () => {
    const { body: created } = await create({ name: 'before', version: '*', extension_type: 'bundle', description: 'old' });
    const update = { name: 'after', version: '8.*', extension_type: 'plugin', description: 'new description' };
    const response = await server.api('POST', `/api/v1/deployments/extensions/${created.id}`, { json: update });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.id, created.id);
    assert.equal(response.body.extension_type, 'bundle');
    assert.equal(response.headers.get('x-cloud-resource-version'), '2');
    const read = await server.api('GET', `/api/v1/deployments/extensions/${created.id}?include_deployments=false`);
    assert.deepEqual(
      { name: read.body.name, version: read.body.version, description: read.body.description },
      { name: 'after', version: '8.*', description: 'new description' },
    );
    assert.equal(read.headers.get('x-cloud-resource-version'), '2');
  });

  test('an omitted description is cleared (Terraform sends its whole desired state)', async () => {
    const { body: created } = await create({ name: 'desc', version: '*', extension_type: 'bundle', description: 'to be removed' });
    const response = await server.api('POST', `/api/v1/deployments/extensions/${created.id}`, {
      json: { name: 'desc', version: '*', extension_type: 'bundle' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.body.description, undefined);
    const read = await server.api('GET', `/api/v1/deployments/extensions/${created.id}`);
    assert.equal(read.body.description, undefined);
  });

  test('?version= that matches applies; one that does not gives 409 extensions.version_conflict and changes nothing', async () => {
    const { body: created } = await create({ name: 'versioned', version: '*', extension_type: 'bundle' });
    const ok = await server.api('POST', `/api/v1/deployments/extensions/${created.id}?version=1`, {
      json: { name: 'versioned-2', version: '*', extension_type: 'bundle' },
    });
    assert.equal(ok.status, 200);
    const conflict = await server.api('POST', `/api/v1/deployments/extensions/${created.id}?version=1`, {
      json: { name: 'versioned-3', version: '*', extension_type: 'bundle' },
    });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.errors[0].code, 'extensions.version_conflict');
    const read = await server.api('GET', `/api/v1/deployments/extensions/${created.id}`);
    assert.equal(read.body.name, 'versioned-2');
  });

  test('an unknown id gives 404; a schema violation gives 400', async () => {
    const missing = await server.api('POST', '/api/v1/deployments/extensions/9999999999', {
      json: { name: 'x', version: '*', extension_type: 'bundle' },
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errors[0].code, 'extensions.not_found');
    const { body: created } = await create({ name: 'schema', version: '*', extension_type: 'bundle' });
    const invalid = await server.api('POST', `/api/v1/deployments/extensions/${created.id}`, { json: { name: 'x' } });
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.body.errors[0].fields.sort(), ['extension_type', 'version']);
  });
});

describe('delete', () => {
  test('answers 200 {} and the extension is gone; a second delete gives 404', async () => {
    const { body: created } = await create({ name: 'doomed', version: '*', extension_type: 'bundle' });
    const response = await server.api('DELETE', `/api/v1/deployments/extensions/${created.id}`);
    assert.equal(response.status, 200);
    assert.equal(response.text, '{}');
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${created.id}`)).status, 404);
    const again = await server.api('DELETE', `/api/v1/deployments/extensions/${created.id}`);
    assert.equal(again.status, 404);
    assert.equal(again.body.errors[0].code, 'extensions.not_found');
  });

  test("accepts ecctl's DELETE: Content-Type application/json, no body, no Content-Length", async () => {
    const { body: created } = await create({ name: 'ecctl-delete', version: '*', extension_type: 'bundle' });
    const url = new URL(`/api/v1/deployments/extensions/${created.id}`, server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(url, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `ApiKey ${ADMIN_KEY}` },
      });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    assert.equal(status, 200);
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${created.id}`)).status, 404);
  });

  test('also accepts an empty JSON body with Content-Length: 0, and ?version= conflicts give 409', async () => {
    const { body: created } = await create({ name: 'cl0', version: '*', extension_type: 'bundle' });
    const conflict = await server.api('DELETE', `/api/v1/deployments/extensions/${created.id}?version=7`, {
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.errors[0].code, 'extensions.version_conflict');
    const ok = await server.api('DELETE', `/api/v1/deployments/extensions/${created.id}?version=1`, {
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(ok.status, 200);
  });
});

describe('routing and authentication', () => {
  test('an unknown route gives 404 root.resource_not_found as BasicFailedReply', async () => {
    const response = await server.api('GET', '/api/v1/nothing-here');
    assert.equal(response.status, 404);
    assert.equal(response.body.errors[0].code, 'root.resource_not_found');
  });

  test('a wrong method gives 405 with Allow', async () => {
    const response = await server.api('PATCH', '/api/v1/deployments/extensions/123', { json: {} });
    assert.equal(response.status, 405);
    assert.equal(response.body.errors[0].code, 'root.method_not_allowed');
    assert.equal(response.headers.get('allow'), 'GET, POST, PUT, DELETE');
    const onList = await server.api('DELETE', '/api/v1/deployments/extensions');
    assert.equal(onList.status, 405);
  });

  test('missing, malformed or wrong credentials give 401 root.unauthenticated', async () => {
    for (const authorization of ['', 'ApiKey wrong-key', `Bearer ${ADMIN_KEY}`, 'ApiKey ', `ApiKey ${ADMIN_KEY}x`, 'ApiKey abc.def']) {
      const response = await server.api('GET', '/api/v1/deployments/extensions', { headers: { authorization } });
      assert.equal(response.status, 401, authorization);
      assert.equal(response.body.errors[0].code, 'root.unauthenticated');
    }
  });

  test('the scheme name is case-insensitive, as in HTTP', async () => {
    const response = await server.api('GET', '/api/v1/deployments/extensions', { headers: { authorization: `apikey ${ADMIN_KEY}` } });
    assert.equal(response.status, 200);
  });
});
