// extrepo-test-backends: each
// PUT /deployments/extensions/{id}: both wire forms, every client's way of sending them, size limits,
// archive rejections, atomic replacement and content-addressed storage.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bundleZip, pluginZip, zipOf } from './helpers/archives.js';
import { curl, goSdkMultipart, sendChunked } from './helpers/http-client.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';
import { assertMatchesSpec } from './helpers/spec-validator.js';

let server: TestServer;
let tmp: string;
before(async () => {
  server = await startServer({ EXTREPO_MAX_FILE_BYTES: String(256 * 1024) });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'extrepo-upload-'));
});
after(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function createExtension(type: 'bundle' | 'plugin' = 'bundle', version = '*'): Promise<string> {
  const response = await server.api('POST', '/api/v1/deployments/extensions', {
    json: { name: `ext-${Math.random().toString(36).slice(2)}`, version, extension_type: type },
  });
  assert.equal(response.status, 201, response.text);
  return response.body.id;
}

async function fetchFile(url: string): Promise<Buffer> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  return Buffer.from(await response.arrayBuffer());
}

async function blobFiles(): Promise<string[]> {
  return server.storedFiles(); // backend-neutral: the blob directory or the bucket
}

function committedBlobs(files: string[]): string[] {
  return files.filter((f) => f.startsWith('sha256')).map((f) => path.basename(f));
}

describe('upload forms', () => {
  test('a raw application/zip body is stored byte for byte; file_metadata has size, sha256 and a working url', async () => {
    const id = await createExtension();
    const zip = await bundleZip('raw body\n');
    const response = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, {
      body: zip,
      headers: { 'content-type': 'application/zip' },
    });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.id, id);
    assert.equal(response.body.file_metadata.size, zip.length);
    assert.equal(response.body.file_metadata.sha256, sha256(zip));
    assert.match(response.body.file_metadata.last_modified_date, /Z$/);
    assert.equal(response.headers.get('x-cloud-resource-version'), '2');
    assert.deepEqual(await fetchFile(response.body.file_metadata.url), zip);
  });

  test('curl -T (no Content-Type, Expect: 100-continue) works', async () => {
    const id = await createExtension();
    const zip = await bundleZip('curl -T\n'.repeat(100));
    const file = path.join(tmp, 'curl-t.zip');
    await writeFile(file, zip);
    const result = await curl([
      '-X',
      'PUT',
      '-H',
      `Authorization: ApiKey ${ADMIN_KEY}`,
      '-T',
      file,
      `${server.url}/api/v1/deployments/extensions/${id}`,
    ]);
    assert.equal(result.status, 200, result.body);
    const body = JSON.parse(result.body);
    assert.equal(body.file_metadata.sha256, sha256(zip));
  });

  test('curl -F "file=@…" multipart works', async () => {
    const id = await createExtension();
    const zip = await bundleZip('curl -F\n');
    const file = path.join(tmp, 'curl-f.zip');
    await writeFile(file, zip);
    const result = await curl([
      '-X',
      'PUT',
      '-H',
      `Authorization: ApiKey ${ADMIN_KEY}`,
      '-H',
      'Content-Type: multipart/form-data',
      '-F',
      `file=@${file}`,
      `${server.url}/api/v1/deployments/extensions/${id}`,
    ]);
    assert.equal(result.status, 200, result.body);
    assert.equal(JSON.parse(result.body).file_metadata.size, zip.length);
  });

  for (const partType of ['application/zip', 'application/octet-stream', 'text/plain; charset=utf-8']) {
    test(`the Go SDK's chunked multipart (filename "Extension", part type ${partType}) works`, async () => {
      const id = await createExtension();
      const zip = await bundleZip('go sdk\n'.repeat(500));
      const { contentType, chunks } = goSdkMultipart(zip, partType);
      const response = await sendChunked(
        `${server.url}/api/v1/deployments/extensions/${id}`,
        'PUT',
        {
          'content-type': contentType,
          accept: 'application/json',
          authorization: `ApiKey ${ADMIN_KEY}`,
          'user-agent': 'cloud-sdk-go/3.8.0',
        },
        chunks,
      );
      assert.equal(response.status, 200, response.body);
      const body = JSON.parse(response.body);
      await assertMatchesSpec({
        method: 'PUT',
        path: `/api/v1/deployments/extensions/${id}`,
        status: 200,
        headers: new Headers(response.headers as Record<string, string>),
        body,
      });
      assert.equal(body.file_metadata.sha256, sha256(zip));
    });
  }

  test('a multipart form without a "file" part gives 400 naming the field', async () => {
    const id = await createExtension();
    const form = new FormData();
    form.append('other', new Blob([new Uint8Array(await bundleZip())]), 'x.zip');
    const response = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, { body: form });
    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].code, 'extensions.request_execution_failed');
    assert.deepEqual(response.body.errors[0].fields, ['file']);
  });

  test('a multipart form cut off before its closing boundary is rejected and stores nothing', async () => {
    const id = await createExtension();
    const zip = await bundleZip('cut off\n');
    const { contentType, chunks } = goSdkMultipart(zip);
    const before = committedBlobs(await blobFiles());
    const response = await sendChunked(
      `${server.url}/api/v1/deployments/extensions/${id}`,
      'PUT',
      {
        'content-type': contentType,
        authorization: `ApiKey ${ADMIN_KEY}`,
      },
      chunks.slice(0, -1),
    );
    assert.equal(response.status, 400, response.body);
    assert.deepEqual(committedBlobs(await blobFiles()), before);
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${id}`)).body.file_metadata, undefined);
  });

  test('an unsupported Content-Type gives 415', async () => {
    const id = await createExtension();
    const response = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, {
      body: await bundleZip(),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(response.status, 415);
    assert.equal(response.body.errors[0].code, 'root.unsupported_media_type');
  });

  test('an unknown extension gives 404 without storing anything', async () => {
    const before = await blobFiles();
    const response = await server.api('PUT', '/api/v1/deployments/extensions/1111111111', {
      body: await bundleZip('nobody'),
      headers: { 'content-type': 'application/zip' },
    });
    assert.equal(response.status, 404);
    assert.equal(response.body.errors[0].code, 'extensions.not_found');
    assert.deepEqual(await blobFiles(), before);
  });
});

describe('validation and limits', () => {
  test('a file that is not a zip gives 400 and keeps the previous file', async () => {
    const id = await createExtension();
    const good = await bundleZip('the good one\n');
    const first = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, { body: good, headers: { 'content-type': 'application/zip' } });
    assert.equal(first.status, 200);
    const bad = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, {
      body: Buffer.from('this is not a zip file at all'),
      headers: { 'content-type': 'application/zip' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].code, 'extensions.request_execution_failed');
    assert.match(bad.body.errors[0].message, /zip/i);
    const read = await server.api('GET', `/api/v1/deployments/extensions/${id}`);
    assert.equal(read.body.file_metadata.sha256, sha256(good));
    assert.equal(read.headers.get('x-cloud-resource-version'), '2');
    assert.deepEqual(await fetchFile(read.body.file_metadata.url), good);
  });

  test('a plugin whose descriptor names another Elasticsearch version is rejected with both versions named', async () => {
    const id = await createExtension('plugin', '8.12.2');
    const response = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, {
      body: await pluginZip('8.11.0'),
      headers: { 'content-type': 'application/zip' },
    });
    assert.equal(response.status, 400);
    assert.match(response.body.errors[0].message, /8\.11\.0/);
    assert.match(response.body.errors[0].message, /8\.12\.2/);
  });

  test("a valid plugin for the extension's version is accepted", async () => {
    const id = await createExtension('plugin', '8.12.2');
    const response = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, {
      body: await pluginZip('8.12.2'),
      headers: { 'content-type': 'application/zip' },
    });
    assert.equal(response.status, 200, response.text);
  });

  test('a declared Content-Length over EXTREPO_MAX_FILE_BYTES gives 413 at once, closing the connection', async () => {
    const id = await createExtension();
    const big = await zipOf({ 'big.bin': Buffer.alloc(300 * 1024, 1) }, { compress: false });
    const response = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, { body: big, headers: { 'content-type': 'application/zip' } });
    assert.equal(response.status, 413);
    assert.equal(response.body.errors[0].code, 'root.payload_too_large');
    assert.match(response.body.errors[0].message, /EXTREPO_MAX_FILE_BYTES/);
  });

  test('a chunked body crossing the limit fails when it crosses it and leaves nothing behind', async () => {
    const id = await createExtension();
    const before = await blobFiles();
    const big = await zipOf({ 'big.bin': Buffer.alloc(300 * 1024, 1) }, { compress: false });
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < big.length; offset += 16 * 1024) pieces.push(big.subarray(offset, offset + 16 * 1024));
    const response = await sendChunked(
      `${server.url}/api/v1/deployments/extensions/${id}`,
      'PUT',
      {
        'content-type': 'application/zip',
        authorization: `ApiKey ${ADMIN_KEY}`,
      },
      pieces,
    ).catch((error: Error) => ({ status: -1, headers: {}, body: error.message }));
    // The server answers 413 and closes; depending on timing the client sees the answer or a reset.
    if (response.status !== -1) {
      assert.equal(response.status, 413, response.body);
      assert.equal(JSON.parse(response.body).errors[0].code, 'root.payload_too_large');
    }
    assert.deepEqual(await blobFiles(), before);
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${id}`)).body.file_metadata, undefined);
  });
});

describe('content-addressed storage', () => {
  test('identical bytes are stored once, and removed only with their last reference', async () => {
    const zip = await bundleZip('shared bytes\n');
    const hash = sha256(zip);
    const a = await createExtension();
    const b = await createExtension();
    for (const id of [a, b]) {
      const response = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, { body: zip, headers: { 'content-type': 'application/zip' } });
      assert.equal(response.status, 200);
    }
    assert.equal(committedBlobs(await blobFiles()).filter((h) => h === hash).length, 1);
    assert.equal((await server.api('DELETE', `/api/v1/deployments/extensions/${a}`)).status, 200);
    assert.ok(committedBlobs(await blobFiles()).includes(hash));
    assert.equal((await server.api('DELETE', `/api/v1/deployments/extensions/${b}`)).status, 200);
    assert.ok(!committedBlobs(await blobFiles()).includes(hash));
  });

  test('replacing a file keeps the old blob for its file version (test/file-versions.test.ts prunes it); no temporary file is left', async () => {
    const id = await createExtension();
    const first = await bundleZip('first version\n');
    const second = await bundleZip('second version\n');
    await server.api('PUT', `/api/v1/deployments/extensions/${id}`, { body: first, headers: { 'content-type': 'application/zip' } });
    const response = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, {
      body: second,
      headers: { 'content-type': 'application/zip' },
    });
    assert.equal(response.status, 200);
    const files = await blobFiles();
    assert.ok(committedBlobs(files).includes(sha256(first)));
    assert.ok(committedBlobs(files).includes(sha256(second)));
    assert.deepEqual(
      files.filter((f) => !f.startsWith('sha256')),
      [],
    );
  });

  test('an upload keeps metadata that changed meanwhile and bumps the version once', async () => {
    const id = await createExtension();
    await server.api('POST', `/api/v1/deployments/extensions/${id}`, {
      json: { name: 'renamed', version: '*', extension_type: 'bundle', description: 'kept' },
    });
    const response = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, {
      body: await bundleZip(),
      headers: { 'content-type': 'application/zip' },
    });
    assert.equal(response.body.name, 'renamed');
    assert.equal(response.body.description, 'kept');
    assert.equal(response.headers.get('x-cloud-resource-version'), '3');
  });
});
