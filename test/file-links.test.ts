// extrepo-test-backends: each
// file_metadata.url: an absolute, unauthenticated, expiring signed link that serves the exact bytes
// with Content-Length, a strong ETag and HTTP Range.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createFileLinkSigner } from '../src/domain/file-links.js';
import { bundleZip, zipOf } from './helpers/archives.js';
import { startServer, type TestServer } from './helpers/server.js';

const LINK_SECRET = 'a-link-secret-for-tests-0123456789abcdef';
let server: TestServer;
let id: string;
let zip: Buffer;
let link: string;

before(async () => {
  server = await startServer({ EXTREPO_LINK_SECRET: LINK_SECRET });
  const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'linked', version: '*', extension_type: 'bundle' } });
  id = created.body.id;
  zip = await zipOf({ 'a.txt': Buffer.alloc(100_000, 3), 'b.txt': 'hello' }, { compress: false });
  const uploaded = await server.api('PUT', `/api/v1/deployments/extensions/${id}`, { body: zip, headers: { 'content-type': 'application/zip' } });
  link = uploaded.body.file_metadata.url;
});
after(async () => {
  await server.close();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function expectError(response: Response, status: number, code: string) {
  assert.equal(response.status, status);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };
  assert.equal(body.errors[0]!.code, code);
  assert.equal(response.headers.get('x-cloud-error-codes'), code);
  return body;
}

describe('signed file links', () => {
  test('the link is absolute, on the listening address, and needs no credentials', async () => {
    assert.ok(link.startsWith(server.url + '/'), link);
    const response = await fetch(link);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/zip');
    assert.equal(response.headers.get('content-length'), String(zip.length));
    assert.equal(response.headers.get('etag'), `"${sha256(zip)}"`);
    assert.equal(response.headers.get('accept-ranges'), 'bytes');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), zip);
  });

  test('a Range request gives 206 with Content-Range and exactly those bytes', async () => {
    for (const [header, start, end] of [
      ['bytes=0-0', 0, 0],
      ['bytes=10-1033', 10, 1033],
      [`bytes=${zip.length - 100}-`, zip.length - 100, zip.length - 1],
      ['bytes=-50', zip.length - 50, zip.length - 1],
    ] as const) {
      const response = await fetch(link, { headers: { range: header } });
      assert.equal(response.status, 206, header);
      assert.equal(response.headers.get('content-range'), `bytes ${start}-${end}/${zip.length}`);
      assert.equal(response.headers.get('content-length'), String(end - start + 1));
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), zip.subarray(start, end + 1));
    }
  });

  test('a range beyond the end gives 416 with Content-Range: bytes */size', async () => {
    const response = await fetch(link, { headers: { range: `bytes=${zip.length + 10}-` } });
    await expectError(response, 416, 'root.range_not_satisfiable');
    assert.equal(response.headers.get('content-range'), `bytes */${zip.length}`);
  });

  test('If-None-Match with the ETag gives 304; a stale If-Range gives the whole file', async () => {
    const etag = `"${sha256(zip)}"`;
    assert.equal((await fetch(link, { headers: { 'if-none-match': etag } })).status, 304);
    const stale = await fetch(link, { headers: { range: 'bytes=0-9', 'if-range': '"other"' } });
    assert.equal(stale.status, 200);
    assert.equal((await stale.arrayBuffer()).byteLength, zip.length);
  });

  test('HEAD gives the headers without a body', async () => {
    const response = await fetch(link, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(zip.length));
  });

  test('a tampered signature, expiry or id gives 403', async () => {
    const url = new URL(link);
    const tampered = [
      (u: URL) =>
        u.searchParams.set(
          'signature',
          u.searchParams.get('signature')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
        ),
      (u: URL) => u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 60)),
      (u: URL) => {
        u.pathname = u.pathname.replace(id, '1000000000');
      },
      (u: URL) => u.searchParams.delete('signature'),
    ];
    for (const change of tampered) {
      const copy = new URL(url);
      change(copy);
      await expectError(await fetch(copy), 403, 'root.forbidden');
    }
  });

  test('exactly one spelling of the signature works: other encodings of the same bytes give 403', async () => {
    const url = new URL(link);
    const signature = url.searchParams.get('signature')!;
    // 32 bytes in base64url: 43 characters, the last carrying 4 bits of data and 2 padding bits.
    assert.equal(signature.length, 43);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature.at(-1)!);
    const sameBits = [0, 1, 2, 3].map((low) => alphabet[(last & ~3) | low]!).filter((c) => c !== signature.at(-1));
    const spellings = [...['!', '.', '~', '=', ' ', '=='].map((suffix) => signature + suffix), ...sameBits.map((c) => signature.slice(0, -1) + c)];
    if (/[-_]/.test(signature)) spellings.push(signature.replace(/-/g, '+').replace(/_/g, '/'));
    for (const spelling of spellings) {
      const copy = new URL(url);
      copy.searchParams.set('signature', spelling);
      await expectError(await fetch(copy), 403, 'root.forbidden');
    }
    // A standard-base64 spelling, forced on a signature that has - or _ in it.
    const plusSlash = `${url.origin}${url.pathname}?expires=${url.searchParams.get('expires')}&signature=${signature.replace(/-/g, '%2B').replace(/_/g, '%2F')}%20`;
    await expectError(await fetch(plusSlash), 403, 'root.forbidden');
    assert.equal((await fetch(link)).status, 200);
  });

  test('an expired link gives 403 saying it expired', async () => {
    const signer = createFileLinkSigner(LINK_SECRET, 60);
    const expired = signer.sign(id, sha256(zip), new Date(Date.now() - 3 * 3600 * 1000));
    const body = await expectError(await fetch(server.url + expired), 403, 'root.forbidden');
    assert.match(body.errors[0]!.message, /expired/);
  });

  test('several-MiB files downloaded at once, whole and in ranges across 1 MiB boundaries, each give exactly their own bytes', async () => {
    // The local store sends files from a pool of reused 1 MiB buffers (src/http/file-body.ts): a buffer
    // handed back too early would show here as another download's bytes.
    const files: Array<{ zip: Buffer; url: string }> = [];
    for (const name of ['big-one', 'big-two']) {
      const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name, version: '*', extension_type: 'bundle' } });
      const big = await zipOf({ 'data.bin': randomBytes(3 * 1024 * 1024 + 54_321) }, { compress: false });
      const uploaded = await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
        body: big,
        headers: { 'content-type': 'application/zip' },
      });
      files.push({ zip: big, url: uploaded.body.file_metadata.url });
    }
    // A client that leaves in the middle of a download must not disturb the ones after it.
    await new Promise<void>((resolve, reject) => {
      const request = http.get(files[0]!.url, (response) => {
        response.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.on('error', (error) => (request.destroyed ? resolve() : reject(error)));
    });
    const MiB = 1024 * 1024;
    const ranges: Array<[number, number]> = [
      [MiB - 10, MiB + 10],
      [5, 2 * MiB + 7],
      [2 * MiB - 1, 3 * MiB],
    ];
    await Promise.all(
      Array.from({ length: 8 }, async (_, index) => {
        const { zip: expected, url } = files[index % 2]!;
        assert.equal(sha256(Buffer.from(await (await fetch(url)).arrayBuffer())), sha256(expected), `download ${index}`);
        const [start, end] = ranges[index % ranges.length]!;
        const partial = await fetch(url, { headers: { range: `bytes=${start}-${end}` } });
        assert.equal(partial.status, 206);
        assert.deepEqual(Buffer.from(await partial.arrayBuffer()), expected.subarray(start, end + 1), `range ${start}-${end}`);
      }),
    );
  });

  test('a link to a replaced file stops working; the new link serves the new bytes', async () => {
    const created = await server.api('POST', '/api/v1/deployments/extensions', {
      json: { name: 'replaced', version: '*', extension_type: 'bundle' },
    });
    const first = await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
      body: await bundleZip('one'),
      headers: { 'content-type': 'application/zip' },
    });
    const secondZip = await bundleZip('two');
    const second = await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
      body: secondZip,
      headers: { 'content-type': 'application/zip' },
    });
    await expectError(await fetch(first.body.file_metadata.url), 404, 'extensions.not_found');
    assert.deepEqual(Buffer.from(await (await fetch(second.body.file_metadata.url)).arrayBuffer()), secondZip);
    await server.api('DELETE', `/api/v1/deployments/extensions/${created.body.id}`);
    await expectError(await fetch(second.body.file_metadata.url), 404, 'extensions.not_found');
  });

  test('a link whose blob is missing from the file store answers 404 extensions.file_missing and counts an integrity fault', async () => {
    const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'lost', version: '*', extension_type: 'bundle' } });
    const lostZip = await bundleZip('bytes that will be lost');
    const uploaded = await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
      body: lostZip,
      headers: { 'content-type': 'application/zip' },
    });
    // The bytes vanish behind extrepo's back (an operator's mistake, a lost disk, a bucket rule).
    await server.blobs.delete(sha256(lostZip));
    const faults = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/^extrepo_integrity_faults_total\{kind="missing_blob"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const before = await faults();
    const whole = await fetch(uploaded.body.file_metadata.url);
    assert.equal(whole.headers.get('etag'), null, 'no header of the file on an error');
    const body = await expectError(whole, 404, 'extensions.file_missing');
    assert.match(body.errors[0]!.message, /missing from the file store/);
    await expectError(await fetch(uploaded.body.file_metadata.url, { headers: { range: 'bytes=0-9' } }), 404, 'extensions.file_missing');
    // A HEAD says the same, rather than promise bytes a GET cannot give.
    const head = await fetch(uploaded.body.file_metadata.url, { method: 'HEAD' });
    assert.equal(head.status, 404);
    assert.equal(head.headers.get('x-cloud-error-codes'), 'extensions.file_missing');
    assert.equal(head.headers.get('etag'), null, 'no header of the file on an error');
    assert.equal(await faults(), before + 3);
    // Uploading the file again repairs it.
    const repaired = await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
      body: lostZip,
      headers: { 'content-type': 'application/zip' },
    });
    assert.deepEqual(Buffer.from(await (await fetch(repaired.body.file_metadata.url)).arrayBuffer()), lostZip);
    const repairedHead = await fetch(repaired.body.file_metadata.url, { method: 'HEAD' });
    assert.equal(repairedHead.status, 200);
    assert.equal(repairedHead.headers.get('content-length'), String(lostZip.length));
  });

  test('EXTREPO_PUBLIC_URL sets the origin of links', async () => {
    const proxied = await startServer({ EXTREPO_PUBLIC_URL: 'https://extensions.example.com/' });
    try {
      const created = await proxied.api('POST', '/api/v1/deployments/extensions', { json: { name: 'p', version: '*', extension_type: 'bundle' } });
      const uploaded = await proxied.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
        body: await bundleZip(),
        headers: { 'content-type': 'application/zip' },
      });
      assert.match(uploaded.body.file_metadata.url, /^https:\/\/extensions\.example\.com\/extension-files\//);
    } finally {
      await proxied.close();
    }
  });
});
