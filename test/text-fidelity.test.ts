// extrepo-test-backends: each
// Text is kept as given (issue 9.4): a JSON body that is not valid UTF-8, or that holds a lone UTF-16
// surrogate (a \ud800 escape, which no UTF-8 store can hold), is refused with 400 naming the
// problem; every other string, astral characters included, reads back identically, also from
// stores opened afresh (as after a restart).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

async function postRaw(path: string, body: Buffer | string) {
  return server.api('POST', path, { body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': 'application/json' } });
}

test('a body that is not valid UTF-8 is 400 root.invalid_json_request, and nothing is stored', async () => {
  const before = await server.api('GET', '/api/v1/deployments/extensions');
  const body = Buffer.concat([
    Buffer.from('{"name":"bad-utf8","version":"*","extension_type":"bundle","description":"caf'),
    Buffer.from([0xe9]),
    Buffer.from('"}'),
  ]);
  const response = await postRaw('/api/v1/deployments/extensions', body);
  assert.equal(response.status, 400, response.text);
  assert.equal(response.headers.get('x-cloud-error-codes'), 'root.invalid_json_request');
  assert.match(response.body.errors[0].message, /UTF-8/);
  const after = await server.api('GET', '/api/v1/deployments/extensions');
  assert.equal(after.body.extensions.length, before.body.extensions.length);
});

test('a lone surrogate escape is 400 root.invalid_json_request naming the field', async () => {
  for (const text of ['\\ud800', 'x\\udfffy', '\\ude00\\ud83d']) {
    const response = await postRaw(
      '/api/v1/deployments/extensions',
      `{"name":"lone","version":"*","extension_type":"bundle","description":"${text}"}`,
    );
    assert.equal(response.status, 400, response.text);
    assert.equal(response.body.errors[0].code, 'root.invalid_json_request');
    assert.deepEqual(response.body.errors[0].fields, ['description']);
    assert.match(response.body.errors[0].message, /surrogate/);
  }
  const user = await postRaw('/api/v1/users', '{"user_name":"lone-user","full_name":"\\udbff","security":{"password":"Lone-password-0123"}}');
  assert.equal(user.status, 400, user.text);
  assert.deepEqual(user.body.errors[0].fields, ['full_name']);
});

test('astral characters and escapes read back identically, also after a restart', async () => {
  // 4,096 UTF-16 code units, the description limit: pairs (escaped and raw), BMP text and ASCII.
  const description = '\u{1F600}😀é€ab'.repeat(512);
  assert.equal(description.length, 4096);
  const escaped = JSON.stringify(description).replace(/\u{1F600}/gu, '\\ud83d\\ude00');
  const created = await postRaw(
    '/api/v1/deployments/extensions',
    `{"name":"astral","version":"*","extension_type":"bundle","description":${escaped}}`,
  );
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.description, description);
  const id = created.body.id as string;
  const got = await server.api('GET', `/api/v1/deployments/extensions/${id}`);
  assert.equal(got.body.description, description);
  // What GET returned is a valid update.
  const updated = await server.api('POST', `/api/v1/deployments/extensions/${id}`, {
    json: { name: got.body.name, version: got.body.version, extension_type: got.body.extension_type, description: got.body.description },
  });
  assert.equal(updated.status, 200, updated.text);
  assert.equal(updated.body.description, description);

  await server.restart();
  const reread = await server.api('GET', `/api/v1/deployments/extensions/${id}`);
  assert.equal(reread.body.description.length, 4096);
  assert.equal(reread.body.description, description);
});
