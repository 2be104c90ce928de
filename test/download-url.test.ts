// extrepo-test-backends: each
// Creating and updating an extension from a download_url: the server copies the file into its
// repository synchronously, and any failure leaves no extension and no file behind.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { bundleZip, pluginZip } from './helpers/archives.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let strict: TestServer;
let origin: string;
let files: http.Server;
let bundle: Buffer;
let plugin: Buffer;
const openSockets = new Set<import('node:net').Socket>();

before(async () => {
  bundle = await bundleZip('from a download_url\n');
  plugin = await pluginZip('8.12.2');
  files = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/bundle.zip':
        response.writeHead(200, { 'content-type': 'application/zip', 'content-length': bundle.length });
        response.end(bundle);
        return;
      case '/plugin.zip':
        response.writeHead(200, { 'content-type': 'application/zip' });
        response.end(plugin);
        return;
      case '/private.zip':
        if (request.headers.authorization !== `Basic ${Buffer.from('reader:s3cret').toString('base64')}`) {
          response.writeHead(401).end();
          return;
        }
        response.writeHead(200).end(bundle);
        return;
      case '/moved.zip':
        response.writeHead(302, { location: '/bundle.zip' }).end();
        return;
      case '/stall.zip':
        response.writeHead(200, { 'content-type': 'application/zip' });
        response.write(bundle.subarray(0, 10));
        return; // never ends
      case '/endless.zip': {
        response.writeHead(200, { 'content-type': 'application/zip' });
        // A zip that starts well (a stored entry whose size comes in a data descriptor) and never
        // ends, so only the size limit can stop it, whichever store is slower to take the bytes.
        const header = Buffer.alloc(30 + 5);
        header.writeUInt32LE(0x04034b50, 0);
        header.writeUInt16LE(20, 4);
        header.writeUInt16LE(0x0008, 6);
        header.writeUInt16LE(0x21, 12);
        header.writeUInt16LE(5, 26);
        header.write('a.bin', 30, 'latin1');
        response.write(header);
        const block = Buffer.alloc(64 * 1024, 1);
        const pump = () => {
          while (response.write(block)) {
            /* keep writing until backpressure */
          }
        };
        response.on('drain', pump);
        pump();
        return;
      }
      case '/text.zip':
        response.writeHead(200).end('not a zip');
        return;
      default:
        response.writeHead(404).end();
    }
  });
  files.on('connection', (socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  server = await startServer({
    EXTREPO_DOWNLOAD_ALLOW_HOSTS: '127.0.0.1',
    EXTREPO_MAX_FILE_BYTES: String(1024 * 1024),
    EXTREPO_DOWNLOAD_IDLE_TIMEOUT_MS: '300',
  });
  strict = await startServer();
});

after(async () => {
  await server.close();
  await strict.close();
  for (const socket of openSockets) socket.destroy();
  await new Promise((resolve) => files.close(resolve));
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function count(target: TestServer): Promise<number> {
  return (await target.api('GET', '/api/v1/deployments/extensions')).body.extensions.length;
}

async function expectDownloadFailure(target: TestServer, downloadUrl: string, pattern: RegExp, type = 'bundle', version = '*') {
  const before = await count(target);
  const response = await target.api('POST', '/api/v1/deployments/extensions', {
    json: { name: 'from-url', version, extension_type: type, download_url: downloadUrl },
  });
  assert.equal(response.status, 400, response.text);
  assert.equal(response.body.errors[0].code, 'extensions.request_execution_failed');
  assert.match(response.body.errors[0].message, pattern);
  assert.equal(await count(target), before, 'no extension is left behind');
}

describe('create with download_url', () => {
  test('copies the file into the repository and echoes download_url', async () => {
    const response = await server.api('POST', '/api/v1/deployments/extensions', {
      json: { name: 'copied', version: '*', extension_type: 'bundle', download_url: `${origin}/bundle.zip` },
    });
    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.download_url, `${origin}/bundle.zip`);
    assert.equal(response.body.file_metadata.size, bundle.length);
    assert.equal(response.body.file_metadata.sha256, sha256(bundle));
    const served = Buffer.from(await (await fetch(response.body.file_metadata.url)).arrayBuffer());
    assert.deepEqual(served, bundle);
  });

  test('a chunked plugin matching the extension version is accepted', async () => {
    const response = await server.api('POST', '/api/v1/deployments/extensions', {
      json: { name: 'plugin', version: '8.12.2', extension_type: 'plugin', download_url: `${origin}/plugin.zip` },
    });
    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.file_metadata.size, plugin.length);
  });

  test('credentials inside the URL are sent as Basic auth and never echoed in errors', async () => {
    const response = await server.api('POST', '/api/v1/deployments/extensions', {
      json: {
        name: 'private',
        version: '*',
        extension_type: 'bundle',
        download_url: `http://reader:s3cret@127.0.0.1:${new URL(origin).port}/private.zip`,
      },
    });
    assert.equal(response.status, 201, response.text);
    const failed = await server.api('POST', '/api/v1/deployments/extensions', {
      json: {
        name: 'private',
        version: '*',
        extension_type: 'bundle',
        download_url: `http://reader:wrong@127.0.0.1:${new URL(origin).port}/private.zip`,
      },
    });
    assert.equal(failed.status, 400);
    assert.doesNotMatch(failed.text, /wrong|reader/);
  });

  test('a redirect is refused, naming the Location', async () => {
    await expectDownloadFailure(server, `${origin}/moved.zip`, /302.*\/bundle\.zip/);
  });

  test('a 404 is reported with its status', async () => {
    await expectDownloadFailure(server, `${origin}/nothing.zip`, /404/);
  });

  test('a connection refused is reported', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expectDownloadFailure(server, `http://127.0.0.1:${port}/x.zip`, /refused/);
  });

  test('a body that stalls times out', async () => {
    await expectDownloadFailure(server, `${origin}/stall.zip`, /sent nothing for/);
  });

  test('an endless body is cut off at the size limit', async () => {
    await expectDownloadFailure(server, `${origin}/endless.zip`, /larger than|limit|too large/i);
  });

  test('a file that is not a zip is refused', async () => {
    await expectDownloadFailure(server, `${origin}/text.zip`, /zip/i);
  });

  test('a plugin for another version is refused', async () => {
    await expectDownloadFailure(server, `${origin}/plugin.zip`, /8\.12\.2/, 'plugin', '8.11.1');
  });

  test('without EXTREPO_DOWNLOAD_ALLOW_HOSTS, loopback and private addresses are refused', async () => {
    for (const url of [
      `${origin}/bundle.zip`,
      'http://localhost/x.zip',
      'http://[::1]/x.zip',
      'http://2130706433/x.zip',
      'http://169.254.169.254/latest',
      'http://10.0.0.1/x.zip',
    ]) {
      await expectDownloadFailure(strict, url, /EXTREPO_DOWNLOAD_ALLOW_HOSTS/);
    }
  });

  test('a failed download leaves no file behind', async () => {
    const before = [];
    for await (const blob of server.blobs.list()) before.push(blob);
    await expectDownloadFailure(server, `${origin}/text.zip`, /zip/i);
    const afterList = [];
    for await (const blob of server.blobs.list()) afterList.push(blob);
    assert.deepEqual(afterList.sort(), before.sort());
  });
});

describe('update with download_url', () => {
  test('re-fetches the file; a failed fetch keeps the old file and metadata', async () => {
    const created = await server.api('POST', '/api/v1/deployments/extensions', {
      json: { name: 'refetch', version: '*', extension_type: 'bundle', download_url: `${origin}/bundle.zip` },
    });
    assert.equal(created.status, 201);
    const id = created.body.id;
    const failed = await server.api('POST', `/api/v1/deployments/extensions/${id}`, {
      json: { name: 'refetch-2', version: '*', extension_type: 'bundle', download_url: `${origin}/text.zip` },
    });
    assert.equal(failed.status, 400);
    const read = await server.api('GET', `/api/v1/deployments/extensions/${id}`);
    assert.equal(read.body.name, 'refetch');
    assert.equal(read.body.file_metadata.sha256, sha256(bundle));
    assert.equal(read.body.download_url, `${origin}/bundle.zip`);

    const moved = await server.api('POST', `/api/v1/deployments/extensions/${id}`, {
      json: { name: 'refetch-3', version: '*', extension_type: 'bundle', download_url: `${origin}/plugin.zip` },
    });
    assert.equal(moved.status, 200, moved.text);
    assert.equal(moved.body.file_metadata.sha256, sha256(plugin));
    assert.equal(moved.body.download_url, `${origin}/plugin.zip`);
  });

  test('without download_url the stored file stays', async () => {
    const created = await server.api('POST', '/api/v1/deployments/extensions', {
      json: { name: 'keep-file', version: '*', extension_type: 'bundle', download_url: `${origin}/bundle.zip` },
    });
    const updated = await server.api('POST', `/api/v1/deployments/extensions/${created.body.id}`, {
      json: { name: 'keep-file', version: '8.*', extension_type: 'bundle' },
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.download_url, undefined);
    assert.equal(updated.body.file_metadata.sha256, sha256(bundle));
  });
});
