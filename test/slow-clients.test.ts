// extrepo-test-backends: each
// Slow clients cannot hold the server (issue 9.2), over real sockets that trickle bytes: headers
// must arrive within EXTREPO_HEADERS_TIMEOUT_MS, a JSON body within EXTREPO_BODY_TIMEOUT_MS, an
// upload must keep moving at EXTREPO_UPLOAD_MIN_BYTES_PER_SECOND (averaged over
// EXTREPO_UPLOAD_RATE_WINDOW_MS), and at most EXTREPO_MAX_UNAUTHENTICATED_CONNECTIONS connections
// may wait without having authenticated. Each refusal is a BasicFailedReply, then the connection
// closes. The settings are tiny here so the tests stay fast; they assert outcomes, not durations.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundleZip, zipOf } from './helpers/archives.js';
import { connect, parseAnswer, readUntilClosed } from './helpers/raw-socket.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

/** Writes `data` in pieces of `size` bytes, `pauseMs` apart, until done or the socket closes. */
async function trickle(socket: net.Socket, data: Buffer, size: number, pauseMs: number): Promise<void> {
  for (let offset = 0; offset < data.length && !socket.destroyed; offset += size) {
    socket.write(data.subarray(offset, offset + size));
    await sleep(pauseMs);
  }
}

function assertTimeout(text: string, closed: boolean): void {
  const answer = parseAnswer(text);
  assert.equal(answer.status, 408, text.slice(0, 300));
  assert.equal(answer.headers['x-cloud-error-codes'], 'root.request_timeout');
  assert.equal(JSON.parse(answer.body).errors[0].code, 'root.request_timeout');
  assert.ok(closed, 'the connection is closed');
}

describe('timeouts', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      // Small, but with room for a loaded machine: an ordinary request's headers and body arrive at once.
      EXTREPO_HEADERS_TIMEOUT_MS: '1000',
      EXTREPO_BODY_TIMEOUT_MS: '1000',
      EXTREPO_UPLOAD_MIN_BYTES_PER_SECOND: '1000',
      EXTREPO_UPLOAD_RATE_WINDOW_MS: '2000',
    });
  });
  after(async () => {
    await server.close();
  });

  test('headers trickled past EXTREPO_HEADERS_TIMEOUT_MS get 408 root.request_timeout and the connection closes', async () => {
    const socket = await connect(server.url);
    const reading = readUntilClosed(socket, 20_000);
    void trickle(socket, Buffer.from(`GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Slow: y\r\n'.repeat(500)}`), 1, 50);
    const { text, closed } = await reading;
    socket.destroy();
    assertTimeout(text, closed);
  });

  test('a connection that sends nothing is closed', async () => {
    const socket = await connect(server.url);
    const { closed } = await readUntilClosed(socket, 20_000);
    socket.destroy();
    assert.ok(closed);
  });

  test('a _login body trickled past EXTREPO_BODY_TIMEOUT_MS gets 408 and the connection closes', async () => {
    const body = Buffer.from(JSON.stringify({ username: 'admin', password: 'x'.repeat(200) }));
    const socket = await connect(server.url);
    const reading = readUntilClosed(socket, 20_000);
    socket.write(`POST /api/v1/users/auth/_login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    void trickle(socket, body, 1, 50);
    const { text, closed } = await reading;
    socket.destroy();
    assertTimeout(text, closed);
  });

  test('a request answered before its body arrived (401) leaves no timer behind to fail later', async () => {
    const socket = await connect(server.url);
    const reading = readUntilClosed(socket, 20_000);
    socket.write(`POST /api/v1/deployments/extensions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    const { text } = await reading;
    socket.destroy();
    assert.equal(parseAnswer(text).status, 401, text);
    // The same for an upload refused after its rate guard started (a platform viewer may see, not change).
    const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'refused', version: '*', extension_type: 'bundle' } });
    const viewer = await server.api('POST', '/api/v1/users', {
      json: { user_name: 'slow-viewer', security: { roles: ['ece_platform_viewer'], password: 'Quiet-reader-password-0123' } },
    });
    assert.equal(viewer.status, 200, viewer.text);
    const upload = await fetch(`${server.url}/api/v1/deployments/extensions/${created.body.id}`, {
      method: 'PUT',
      headers: {
        authorization: `Basic ${Buffer.from('slow-viewer:Quiet-reader-password-0123').toString('base64')}`,
        'content-type': 'application/zip',
      },
      body: new Uint8Array(await bundleZip()),
    });
    assert.equal(upload.status, 401);
    // Past the body timeout and the rate window: a timer left running would now throw an uncaught
    // error in this process.
    await sleep(2500);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test('an upload that stops moving gets 408, keeps the previous state, and the connection closes', async () => {
    const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'slow', version: '*', extension_type: 'bundle' } });
    const zip = await bundleZip();
    const socket = await connect(server.url);
    const reading = readUntilClosed(socket, 20_000);
    socket.write(
      `PUT /api/v1/deployments/extensions/${created.body.id} HTTP/1.1\r\nHost: x\r\nAuthorization: ApiKey ${ADMIN_KEY}\r\n` +
        `Content-Type: application/zip\r\nContent-Length: ${zip.length}\r\n\r\n`,
    );
    void trickle(socket, zip, 1, 100);
    const { text, closed } = await reading;
    socket.destroy();
    assertTimeout(text, closed);
    const after = await server.api('GET', `/api/v1/deployments/extensions/${created.body.id}`);
    assert.equal(after.body.file_metadata, undefined);
  });

  test('a slow upload that keeps moving faster than the minimum rate finishes', async () => {
    const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'moving', version: '*', extension_type: 'bundle' } });
    // About 400 KB sent at about 100 KB/s, 100 times the minimum rate, over two rate windows and
    // far beyond the body timeout of JSON requests.
    const zip = await zipOf({ 'data.bin': Buffer.from(Array.from({ length: 400_000 }, (_, i) => (i * 7919) % 251)) }, { compress: false });
    const socket = await connect(server.url);
    const reading = readUntilClosed(socket, 20_000);
    socket.write(
      `PUT /api/v1/deployments/extensions/${created.body.id} HTTP/1.1\r\nHost: x\r\nAuthorization: ApiKey ${ADMIN_KEY}\r\n` +
        `Content-Type: application/zip\r\nContent-Length: ${zip.length}\r\nConnection: close\r\n\r\n`,
    );
    await trickle(socket, zip, 10_000, 100);
    const { text } = await reading;
    socket.destroy();
    const answer = parseAnswer(text);
    assert.equal(answer.status, 200, text.slice(0, 300));
    assert.equal(JSON.parse(answer.body).file_metadata.size, zip.length);
  });
});

describe('unauthenticated connections', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ EXTREPO_MAX_UNAUTHENTICATED_CONNECTIONS: '5' });
  });
  after(async () => {
    await server.close();
  });

  test('beyond EXTREPO_MAX_UNAUTHENTICATED_CONNECTIONS a new connection gets 503 and is closed; authenticated ones do not count', async () => {
    const waiting = await Promise.all(Array.from({ length: 5 }, () => connect(server.url)));
    const extra = await connect(server.url);
    const { text, closed } = await readUntilClosed(extra, 20_000);
    extra.destroy();
    const answer = parseAnswer(text);
    assert.equal(answer.status, 503, text);
    assert.equal(answer.headers['x-cloud-error-codes'], 'root.service_unavailable');
    assert.ok(closed);

    // Authenticating on a waiting connection frees its place.
    const authenticated = waiting.pop()!;
    const reply = readUntilClosed(authenticated, 1000);
    authenticated.write(`GET /api/v1/deployments/extensions HTTP/1.1\r\nHost: x\r\nAuthorization: ApiKey ${ADMIN_KEY}\r\n\r\n`);
    assert.equal(parseAnswer((await reply).text).status, 200);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    for (const socket of [...waiting, authenticated]) socket.destroy();
  });
});
