// extrepo-test-backends: each
// File versions (extrepo's addition, issue 13): every upload and download_url copy is a numbered
// version with its provenance; old versions stay downloadable byte for byte, can be restored in one
// call, are pruned past EXTREPO_KEEP_FILE_VERSIONS (their blobs only once nothing else uses them),
// and a replacement can be made conditional on the file the caller last saw.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { bundleZip, pluginZip } from './helpers/archives.js';
import { startServer, type TestServer } from './helpers/server.js';

const EXT = '/api/v1/deployments/extensions';
const KEEP = 3;
const PASSWORD = 'Versions-password-0123456789';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

let server: TestServer;
let origin: http.Server;
let originUrl: string;
/** What the download_url origin serves, by path. */
const served = new Map<string, Buffer>();

before(async () => {
  origin = http.createServer((request, response) => {
    const body = served.get(request.url ?? '');
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  server = await startServer({ EXTREPO_KEEP_FILE_VERSIONS: String(KEEP), EXTREPO_DOWNLOAD_ALLOW_HOSTS: '127.0.0.1' });
});
after(async () => {
  await server.close();
  await new Promise((resolve) => origin.close(resolve));
});

async function createBundle(extra: Record<string, unknown> = {}, authorization?: string): Promise<string> {
  const response = await server.api('POST', EXT, {
    json: { name: `ext-${randomUUID().slice(0, 8)}`, version: '*', extension_type: 'bundle', ...extra },
    ...(authorization ? { headers: { authorization } } : {}),
  });
  assert.equal(response.status, 201, response.text);
  return response.body.id;
}

function upload(id: string, zip: Buffer, query = '', headers: Record<string, string> = {}) {
  return server.api('PUT', `${EXT}/${id}${query}`, { body: zip, headers: { 'content-type': 'application/zip', ...headers } });
}

async function uploadOk(id: string, zip: Buffer): Promise<void> {
  const response = await upload(id, zip);
  assert.equal(response.status, 200, response.text);
}

async function versionsOf(id: string, query = '') {
  const response = await server.api('GET', `${EXT}/${id}/versions${query}`);
  assert.equal(response.status, 200, response.text);
  return response.body as { total: number; from: number; size: number; versions: Array<Record<string, any>> };
}

async function fetchBytes(url: string): Promise<{ status: number; etag: string | null; bytes: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, etag: response.headers.get('etag'), bytes: Buffer.from(await response.arrayBuffer()) };
}

async function committedBlobs(): Promise<string[]> {
  return (await server.storedFiles()).filter((file) => file.startsWith('sha256')).map((file) => file.split('/').pop()!);
}

const withoutUrl = ({ url: _url, ...rest }: Record<string, any>) => rest;

describe(`file versions (${process.env.EXTREPO_TEST_BACKEND || 'sqlite-fs'})`, () => {
  test('every download_url copy and upload is a version numbered from 1, newest first, only the newest current', async () => {
    const copied = await bundleZip(`copied ${randomUUID()}\n`);
    served.set('/v1.zip', copied);
    const id = await createBundle({ download_url: `${originUrl}/v1.zip` });
    const raw = await bundleZip(`raw ${randomUUID()}\n`);
    await uploadOk(id, raw);
    // A metadata-only update keeps the file and adds no version.
    const renamed = await server.api('POST', `${EXT}/${id}`, { json: { name: 'renamed', version: '*', extension_type: 'bundle' } });
    assert.equal(renamed.status, 200, renamed.text);
    const form = new FormData();
    const multipart = await bundleZip(`multipart ${randomUUID()}\n`);
    form.append('file', new Blob([new Uint8Array(multipart)]), 'x.zip');
    assert.equal((await server.api('PUT', `${EXT}/${id}`, { body: form })).status, 200);

    const page = await versionsOf(id);
    assert.deepEqual({ total: page.total, from: page.from, size: page.size }, { total: 3, from: 0, size: 100 });
    assert.deepEqual(
      page.versions.map(withoutUrl).map(({ created, ...rest }) => {
        assert.ok(!Number.isNaN(Date.parse(created)));
        return rest;
      }),
      [
        {
          version: 3,
          sha256: sha256(multipart),
          size: multipart.length,
          created_by: 'admin',
          source: { kind: 'upload', form: 'multipart' },
          current: true,
        },
        { version: 2, sha256: sha256(raw), size: raw.length, created_by: 'admin', source: { kind: 'upload', form: 'raw' }, current: false },
        {
          version: 1,
          sha256: sha256(copied),
          size: copied.length,
          created_by: 'admin',
          source: { kind: 'download_url', download_url: `${originUrl}/v1.zip` },
          current: false,
        },
      ],
    );
    const created = page.versions.map((v) => Date.parse(v.created));
    assert.ok(created[0]! >= created[1]! && created[1]! >= created[2]!);

    const one = await server.api('GET', `${EXT}/${id}/versions/2`);
    assert.equal(one.status, 200);
    assert.deepEqual(withoutUrl(one.body), withoutUrl(page.versions[1]!));
  });

  test("a plugin's version records its descriptor: name, version, classname, Elasticsearch version", async () => {
    const created = await server.api('POST', EXT, {
      json: { name: `plugin-${randomUUID().slice(0, 8)}`, version: '8.12.2', extension_type: 'plugin' },
    });
    assert.equal(created.status, 201);
    await uploadOk(created.body.id, await pluginZip('8.12.2'));
    const [version] = (await versionsOf(created.body.id)).versions;
    assert.deepEqual(version!.plugin, {
      name: 'analysis-test',
      version: '1.0.0',
      classname: 'org.example.AnalysisTestPlugin',
      elasticsearch_version: '8.12.2',
    });
  });

  test('pages with from and size; a bad page parameter is 400 root.invalid_request', async () => {
    const id = await createBundle();
    for (let i = 0; i < 3; i += 1) await uploadOk(id, await bundleZip(`page ${i} ${randomUUID()}\n`));
    const page = await versionsOf(id, '?from=1&size=1');
    assert.deepEqual(
      { total: page.total, from: page.from, size: page.size, numbers: page.versions.map((v) => v.version) },
      { total: 3, from: 1, size: 1, numbers: [2] },
    );
    assert.deepEqual((await versionsOf(id, '?from=7')).versions, []);
    for (const query of ['?size=1001', '?from=-1', '?size=ten']) {
      const response = await server.api('GET', `${EXT}/${id}/versions${query}`);
      assert.equal(response.status, 400, query);
      assert.equal(response.body.errors[0].code, 'root.invalid_request');
    }
  });

  test("an old version's url serves its exact bytes after the file was replaced; file_metadata.url serves only the current file", async () => {
    const id = await createBundle();
    const first = await bundleZip(`first ${randomUUID()}\n`);
    await uploadOk(id, first);
    const oldLink = (await server.api('GET', `${EXT}/${id}`)).body.file_metadata.url as string;
    const second = await bundleZip(`second ${randomUUID()}\n`);
    await uploadOk(id, second);

    const v1 = (await server.api('GET', `${EXT}/${id}/versions/1`)).body;
    const download = await fetchBytes(v1.url);
    assert.equal(download.status, 200);
    assert.equal(download.etag, `"${sha256(first)}"`);
    assert.deepEqual(download.bytes, first);
    const ranged = await fetch(v1.url, { headers: { range: 'bytes=0-3' } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), first.subarray(0, 4));
    assert.deepEqual((await fetchBytes((await versionsOf(id)).versions[0]!.url)).bytes, second);
    assert.equal((await fetchBytes(oldLink)).status, 404, 'file_metadata links follow the current file');
    assert.equal((await fetchBytes(v1.url.replace(/signature=[^&]+/, 'signature=AAAA'))).status, 403);
    assert.equal((await fetchBytes(v1.url.replace('/versions/1/', '/versions/2/'))).status, 403, 'a link names one version');
  });

  test('an unknown extension or version is 404 extensions.not_found', async () => {
    const id = await createBundle();
    await uploadOk(id, await bundleZip(`only ${randomUUID()}\n`));
    for (const [method, path] of [
      ['GET', `${EXT}/9999999999/versions`],
      ['GET', `${EXT}/9999999999/versions/1`],
      ['GET', `${EXT}/${id}/versions/2`],
      ['GET', `${EXT}/${id}/versions/0`],
      ['GET', `${EXT}/${id}/versions/latest`],
      ['POST', `${EXT}/${id}/versions/2/_restore`],
      ['POST', `${EXT}/9999999999/versions/1/_restore`],
    ] as const) {
      const response = await server.api(method, path);
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(response.body.errors[0].code, 'extensions.not_found', `${method} ${path}`);
    }
  });

  test('restore makes an old version current: the Extension, a new resource version, its bytes, an audit record', async () => {
    const id = await createBundle();
    const first = await bundleZip(`restore me ${randomUUID()}\n`);
    await uploadOk(id, first);
    const v1 = (await server.api('GET', `${EXT}/${id}/versions/1`)).body;
    await uploadOk(id, await bundleZip(`broken ${randomUUID()}\n`));
    const before = await server.api('GET', `${EXT}/${id}`);
    const blobsBefore = await committedBlobs();

    const stale = await server.api('POST', `${EXT}/${id}/versions/1/_restore?version=1`);
    assert.equal(stale.status, 409);
    assert.equal(stale.body.errors[0].code, 'extensions.version_conflict');

    const restored = await server.api('POST', `${EXT}/${id}/versions/1/_restore`);
    assert.equal(restored.status, 200, restored.text);
    assert.equal(Number(restored.headers.get('x-cloud-resource-version')), Number(before.headers.get('x-cloud-resource-version')) + 1);
    assert.equal(restored.body.id, id);
    assert.deepEqual(
      {
        sha256: restored.body.file_metadata.sha256,
        size: restored.body.file_metadata.size,
        last_modified_date: restored.body.file_metadata.last_modified_date,
      },
      { sha256: sha256(first), size: first.length, last_modified_date: v1.created },
    );
    assert.deepEqual((await fetchBytes(restored.body.file_metadata.url)).bytes, first);
    assert.deepEqual((await server.api('GET', `${EXT}/${id}`)).body.file_metadata.sha256, sha256(first));
    assert.deepEqual(
      (await versionsOf(id)).versions.map((v) => [v.version, v.current]),
      [
        [2, false],
        [1, true],
      ],
    );
    assert.deepEqual(await committedBlobs(), blobsBefore, 'no bytes are copied');

    const audit = await server.api('GET', `/api/v1/audit?action=restore-extension-file-version&target=${id}`);
    assert.deepEqual(
      audit.body.records.map((r: { outcome: string; status: number }) => [r.outcome, r.status]),
      [
        ['success', 200],
        ['failure', 409],
      ],
    );

    // The next file is version 3: numbers only grow.
    await uploadOk(id, await bundleZip(`after ${randomUUID()}\n`));
    assert.deepEqual(
      (await versionsOf(id)).versions.map((v) => [v.version, v.current]),
      [
        [3, true],
        [2, false],
        [1, false],
      ],
    );
  });

  test("versions follow the extension's visibility; restoring needs the right to change it", async () => {
    for (const [name, roles] of [
      ['versions-manager', ['ece_deployment_manager']],
      ['versions-viewer', ['ece_platform_viewer']],
    ] as const) {
      const response = await server.api('POST', '/api/v1/users', { json: { user_name: name, security: { roles, password: PASSWORD } } });
      assert.equal(response.status, 200, response.text);
    }
    const id = await createBundle();
    await uploadOk(id, await bundleZip(`admin's ${randomUUID()}\n`));
    const manager = { headers: { authorization: basic('versions-manager') } };
    const viewer = { headers: { authorization: basic('versions-viewer') } };
    assert.equal((await server.api('GET', `${EXT}/${id}/versions`, manager)).status, 404, "another's extension looks like none");
    assert.equal((await server.api('GET', `${EXT}/${id}/versions/1`, manager)).status, 404);
    assert.equal((await server.api('GET', `${EXT}/${id}/versions`, viewer)).body.total, 1);
    const refused = await server.api('POST', `${EXT}/${id}/versions/1/_restore`, viewer);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.errors[0].code, 'extensions.unauthorised');
    const own = await createBundle({}, basic('versions-manager'));
    assert.equal((await server.api('PUT', `${EXT}/${own}`, { body: await bundleZip(`own ${randomUUID()}\n`), ...manager })).status, 200);
    const mine = await server.api('GET', `${EXT}/${own}/versions`, manager);
    assert.equal(mine.body.versions[0].created_by, 'versions-manager');
    assert.equal((await server.api('POST', `${EXT}/${own}/versions/1/_restore`, manager)).status, 200);
  });

  test(`retention keeps the newest ${KEEP}; a pruned version's blob stays while another extension has the same file`, async () => {
    const shared = await bundleZip(`shared ${randomUUID()}\n`);
    const a = await createBundle();
    const b = await createBundle();
    await uploadOk(a, shared);
    await uploadOk(b, shared);
    const onlyA = await bundleZip(`only a ${randomUUID()}\n`);
    await uploadOk(a, onlyA);
    const v1Link = (await server.api('GET', `${EXT}/${a}/versions/1`)).body.url as string;
    await uploadOk(a, await bundleZip(`a3 ${randomUUID()}\n`));
    assert.deepEqual(
      (await versionsOf(a)).versions.map((v) => v.version),
      [3, 2, 1],
    );

    await uploadOk(a, await bundleZip(`a4 ${randomUUID()}\n`)); // prunes version 1 (the shared file)
    assert.deepEqual(
      (await versionsOf(a)).versions.map((v) => v.version),
      [4, 3, 2],
    );
    assert.equal((await server.api('GET', `${EXT}/${a}/versions/1`)).status, 404);
    assert.equal((await fetchBytes(v1Link)).status, 404, 'the link of a pruned version stops working');
    assert.ok((await committedBlobs()).includes(sha256(shared)), 'b still has the shared file');
    assert.deepEqual((await fetchBytes((await versionsOf(b)).versions[0]!.url)).bytes, shared);

    await uploadOk(a, await bundleZip(`a5 ${randomUUID()}\n`)); // prunes version 2, a file only a had
    assert.deepEqual(
      (await versionsOf(a)).versions.map((v) => v.version),
      [5, 4, 3],
    );
    assert.ok(!(await committedBlobs()).includes(sha256(onlyA)), 'a blob nothing references any more is removed');
  });

  test('deleting an extension deletes its history and the blobs only it held', async () => {
    const kept = await bundleZip(`kept elsewhere ${randomUUID()}\n`);
    const own = await bundleZip(`own ${randomUUID()}\n`);
    const other = await createBundle();
    await uploadOk(other, kept);
    const id = await createBundle();
    await uploadOk(id, kept);
    await uploadOk(id, own);
    assert.equal((await server.api('DELETE', `${EXT}/${id}`)).status, 200);
    assert.equal((await server.api('GET', `${EXT}/${id}/versions`)).status, 404);
    const blobs = await committedBlobs();
    assert.ok(blobs.includes(sha256(kept)));
    assert.ok(!blobs.includes(sha256(own)));
  });
});

describe('conditional replacement (?if_sha256, If-Match)', () => {
  test('an upload with the current sha256 (query) or ETag (If-Match) replaces the file', async () => {
    const id = await createBundle();
    const first = await bundleZip(`cond first ${randomUUID()}\n`);
    await uploadOk(id, first);
    const second = await bundleZip(`cond second ${randomUUID()}\n`);
    const byQuery = await upload(id, second, `?if_sha256=${sha256(first).toUpperCase()}`);
    assert.equal(byQuery.status, 200, byQuery.text);
    const etag = (await fetchBytes(byQuery.body.file_metadata.url)).etag!;
    const third = await bundleZip(`cond third ${randomUUID()}\n`);
    const byHeader = await upload(id, third, '', { 'if-match': `"${sha256(Buffer.from(randomUUID()))}", ${etag}` });
    assert.equal(byHeader.status, 200, byHeader.text);
    assert.equal(byHeader.body.file_metadata.sha256, sha256(third));
    const star = await upload(id, await bundleZip(`cond star ${randomUUID()}\n`), '', { 'if-match': '*' });
    assert.equal(star.status, 200);
  });

  test('a stale sha256 or ETag gets 409 extensions.version_conflict and stores nothing', async () => {
    const id = await createBundle();
    const current = await bundleZip(`current ${randomUUID()}\n`);
    await uploadOk(id, current);
    const stale = sha256(await bundleZip(`seen long ago ${randomUUID()}\n`));
    const refused = await bundleZip(`refused ${randomUUID()}\n`);
    for (const [query, headers] of [
      [`?if_sha256=${stale}`, {}],
      ['', { 'if-match': `"${stale}"` }],
      ['', { 'if-match': `W/"${sha256(current)}"` }], // a weak tag never matches
      [`?if_sha256=${sha256(current)}`, { 'if-match': `"${stale}"` }], // both given: both must hold
    ] as const) {
      const response = await upload(id, refused, query, headers);
      assert.equal(response.status, 409, `${query} ${JSON.stringify(headers)}`);
      assert.equal(response.body.errors[0].code, 'extensions.version_conflict');
      assert.match(response.body.errors[0].message, new RegExp(sha256(current)));
    }
    const read = await server.api('GET', `${EXT}/${id}`);
    assert.equal(read.body.file_metadata.sha256, sha256(current));
    assert.equal((await versionsOf(id)).total, 1);
    assert.ok(!(await committedBlobs()).includes(sha256(refused)));

    const empty = await createBundle();
    const nothing = await upload(empty, refused, '', { 'if-match': '*' });
    assert.equal(nothing.status, 409, 'If-Match: * needs a file');
  });

  test('a malformed if_sha256 or If-Match is 400 root.invalid_request', async () => {
    const id = await createBundle();
    const zip = await bundleZip(`malformed ${randomUUID()}\n`);
    for (const [query, headers, field] of [
      ['?if_sha256=abc', {}, 'if_sha256'],
      ['', { 'if-match': sha256(zip) }, 'If-Match'], // unquoted
    ] as const) {
      const response = await upload(id, zip, query, headers);
      assert.equal(response.status, 400);
      assert.equal(response.body.errors[0].code, 'root.invalid_request');
      assert.deepEqual(response.body.errors[0].fields, [field]);
    }
  });

  test('an update with download_url is conditional too', async () => {
    const first = await bundleZip(`url first ${randomUUID()}\n`);
    const next = await bundleZip(`url next ${randomUUID()}\n`);
    served.set('/first.zip', first);
    served.set('/next.zip', next);
    const id = await createBundle({ download_url: `${originUrl}/first.zip` });
    const body = { json: { name: 'by-url', version: '*', extension_type: 'bundle', download_url: `${originUrl}/next.zip` } };
    const refused = await server.api('POST', `${EXT}/${id}?if_sha256=${sha256(next)}`, body);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.errors[0].code, 'extensions.version_conflict');
    assert.equal((await versionsOf(id)).total, 1);
    const applied = await server.api('POST', `${EXT}/${id}`, { ...body, headers: { 'if-match': `"${sha256(first)}"` } });
    assert.equal(applied.status, 200, applied.text);
    assert.equal(applied.body.file_metadata.sha256, sha256(next));
    assert.deepEqual(
      (await versionsOf(id)).versions.map((v) => v.source),
      [
        { kind: 'download_url', download_url: `${originUrl}/next.zip` },
        { kind: 'download_url', download_url: `${originUrl}/first.zip` },
      ],
    );
  });

  test('two uploads conditional on the same file at once: exactly one replaces it, the other gets 409', async () => {
    const id = await createBundle();
    const base = await bundleZip(`race base ${randomUUID()}\n`);
    await uploadOk(id, base);
    const [left, right] = [await bundleZip(`left ${randomUUID()}\n`), await bundleZip(`right ${randomUUID()}\n`)];
    const outcomes = await Promise.all([upload(id, left, `?if_sha256=${sha256(base)}`), upload(id, right, `?if_sha256=${sha256(base)}`)]);
    assert.deepEqual(outcomes.map((o) => o.status).sort(), [200, 409]);
    const winner = outcomes.find((o) => o.status === 200)!;
    assert.equal((await server.api('GET', `${EXT}/${id}`)).body.file_metadata.sha256, winner.body.file_metadata.sha256);
    assert.equal((await versionsOf(id)).total, 2);
  });
});
