// extrepo-test-backends: each
// The request log and /metrics of a real server process tell the truth about every request, however
// its connection ends: one line and one count per request, downloads whose client closes the
// connection right after the last byte (curl) or in the middle of the body included, and
// extrepo_downloaded_bytes_total equal to the body bytes the log lines say were sent.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { zipOf } from './helpers/archives.js';
import { backendEnv, type BackendEnv } from './helpers/backend-env.js';
import { startInstance, type Instance } from './helpers/instance.js';
import { ADMIN_KEY, testBackend } from './helpers/server.js';

const run = promisify(execFile);
const EXT = '/api/v1/deployments/extensions';
const DOWNLOAD_ROUTE = '/extension-files/:extension_id/:file';
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface LogLine {
  level: number;
  time: string;
  msg: string;
  reqId?: string;
  route?: string;
  status?: number;
  aborted?: boolean;
  bytes?: number;
  [key: string]: unknown;
}

function logLines(instance: Instance): LogLine[] {
  return instance
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

const requestLines = (instance: Instance, route: string) => logLines(instance).filter((line) => line.msg === 'request' && line.route === route);

/** Waits until the server has logged `count` requests on `route` (the close of a connection is seen a moment after the client's). */
async function untilLogged(instance: Instance, route: string, count: number): Promise<LogLine[]> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const lines = requestLines(instance, route);
    if (lines.length >= count) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return requestLines(instance, route);
}

function metric(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  assert.ok(match, `no ${pattern} in /metrics`);
  return Number(match[1]);
}

/** Reads the whole body, then destroys the socket at once, without waiting for the response to end. */
function readAllThenClose(url: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const request = http.get(url, { agent: false }, (response) => {
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= size) {
          request.destroy();
          resolve(received);
        }
      });
      response.on('error', () => undefined);
    });
    request.on('error', (error) => (received >= size ? undefined : reject(error)));
  });
}

/** Reads `limit` bytes of the body, then closes the connection. */
function readPartThenClose(url: string, limit: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const request = http.get(url, { agent: false }, (response) => {
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= limit) {
          request.destroy();
          resolve(received);
        }
      });
      response.on('error', () => undefined);
    });
    request.on('error', (error) => (received >= limit ? undefined : reject(error)));
  });
}

describe('request log and metrics', () => {
  let backend: BackendEnv;
  let server: Instance;
  let fileUrl: string;
  let size: number;

  before(async () => {
    backend = await backendEnv();
    server = await startInstance({ ...backend.env, EXTREPO_ADMIN_API_KEY: ADMIN_KEY, EXTREPO_LOG_LEVEL: 'info' });
    // Stored, random content: 16 MiB is more than loopback's socket buffers, so a client that stops
    // reading early really leaves part of the body unsent.
    const zip = await zipOf({ 'data.bin': randomBytes(16 * 1024 * 1024) }, { compress: false });
    size = zip.length;
    const headers = { authorization: `ApiKey ${ADMIN_KEY}` };
    const created = await fetch(server.url + EXT, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'big', version: '*', extension_type: 'bundle' }),
    });
    const { id } = (await created.json()) as { id: string };
    const uploaded = await fetch(`${server.url}${EXT}/${id}`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/zip' },
      body: zip as unknown as BodyInit,
    });
    assert.equal(uploaded.status, 200);
    const url = ((await uploaded.json()) as { file_metadata: { url: string } }).file_metadata.url;
    const link = new URL(url);
    fileUrl = server.url + link.pathname + link.search;
  });

  after(async () => {
    await server?.stop();
    await backend?.release();
  });

  test('every download is logged and counted exactly once, whether the client closes after the body or in the middle', async () => {
    const curls = 12;
    const closers = 12;
    const partial = 12;
    for (let i = 0; i < curls; i++) await run('curl', ['-sS', '-o', '/dev/null', fileUrl]);
    for (let i = 0; i < closers; i++) assert.equal(await readAllThenClose(fileUrl, size), size);
    const partReceived: number[] = [];
    for (let i = 0; i < partial; i++) partReceived.push(await readPartThenClose(fileUrl, 256 * 1024));
    // And some at once, of both kinds.
    await Promise.all([
      ...Array.from({ length: 4 }, () => run('curl', ['-sS', '-o', '/dev/null', fileUrl])),
      ...Array.from({ length: 4 }, () => readPartThenClose(fileUrl, 256 * 1024)),
    ]);
    const total = curls + closers + partial + 8;

    const lines = await untilLogged(server, DOWNLOAD_ROUTE, total);
    assert.equal(lines.length, total, 'one log line per download');
    const complete = lines.filter((line) => !line.aborted);
    const aborted = lines.filter((line) => line.aborted);
    assert.equal(complete.length, curls + closers + 4);
    assert.equal(aborted.length, partial + 4);
    for (const line of complete) {
      assert.equal(line.status, 200);
      assert.equal(line.bytes, size);
    }
    for (const line of aborted) {
      assert.equal(line.status, 200, 'the status being sent when the client left');
      assert.ok(line.bytes! >= 256 * 1024 && line.bytes! < size, `an aborted download sent part of the body (${line.bytes} bytes)`);
    }
    assert.equal(new Set(lines.map((line) => line.reqId)).size, total, 'no request logged twice');

    const text = await (await fetch(`${server.url}/metrics`)).text();
    const counted = metric(text, /extrepo_http_requests_total\{route="\/extension-files\/:extension_id\/:file",method="GET",status="200"\} (\d+)/);
    assert.equal(counted, total, 'one count per download');
    const bytes = metric(text, /^extrepo_downloaded_bytes_total (\d+)$/m);
    assert.equal(
      bytes,
      lines.reduce((sum, line) => sum + line.bytes!, 0),
      'the counter adds up the bytes the log lines say were sent',
    );
    assert.ok(bytes >= (curls + closers + 4) * size + partReceived.reduce((sum, n) => sum + n, 0));
  });

  test('a request whose client leaves before any answer is logged once with status 499 and aborted', async () => {
    // An upload that never finishes its body: the server is still reading it when the client leaves.
    const created = await fetch(server.url + EXT, {
      method: 'POST',
      headers: { authorization: `ApiKey ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'left', version: '*', extension_type: 'bundle' }),
    });
    const { id } = (await created.json()) as { id: string };
    // The first bytes of a real archive: zeros would be refused at once (no zip signature), and that
    // answer could beat the client's leaving.
    const zip = await zipOf({ 'big.bin': randomBytes(2 * 1024 * 1024) }, { compress: false });
    const before = requestLines(server, `${EXT}/:extension_id`).length;
    await new Promise<void>((resolve) => {
      const request = http.request(`${server.url}${EXT}/${id}`, {
        method: 'PUT',
        agent: false,
        headers: { authorization: `ApiKey ${ADMIN_KEY}`, 'content-type': 'application/zip', 'content-length': String(zip.length) },
      });
      request.on('error', () => resolve());
      request.write(zip.subarray(0, 1000), () => setImmediate(() => (request.destroy(), resolve())));
    });
    const lines = (await untilLogged(server, `${EXT}/:extension_id`, before + 1)).slice(before);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.aborted, true);
    assert.equal(lines[0]!.status, 499);
  });

  test('log lines have ISO-8601 times, one "server listening" line, and no health, readiness or metrics polls at info', async () => {
    for (let i = 0; i < 3; i++) {
      await fetch(`${server.url}/healthz`);
      await fetch(`${server.url}/readyz`);
      await fetch(`${server.url}/metrics`);
    }
    const lines = logLines(server);
    for (const line of lines) assert.match(line.time, ISO_TIME);
    assert.equal(lines.filter((line) => /listening/i.test(line.msg)).length, 1, 'one listening line');
    const listening = lines.find((line) => line.msg === 'server listening')!;
    assert.equal(listening.version, ((await (await fetch(`${server.url}/healthz`)).json()) as { version: string }).version);
    if (testBackend() === 'postgres-s3') assert.equal(listening.dataDir, undefined, 'the data dir is not used with PostgreSQL + S3');
    else assert.equal(typeof listening.dataDir, 'string');
    for (const route of ['/healthz', '/readyz', '/metrics']) assert.equal(requestLines(server, route).length, 0, `${route} at info`);
  });
});

describe('polls at debug level', () => {
  test('with EXTREPO_LOG_LEVEL=debug, health, readiness and metrics requests are logged, at debug', async () => {
    const backend = await backendEnv();
    const server = await startInstance({ ...backend.env, EXTREPO_LOG_LEVEL: 'debug' });
    try {
      await fetch(`${server.url}/readyz`);
      await fetch(`${server.url}/metrics`);
      const lines = [...(await untilLogged(server, '/readyz', 1)), ...(await untilLogged(server, '/metrics', 1))];
      assert.equal(lines.length, 2);
      for (const line of lines) assert.equal(line.level, 20);
      assert.ok(requestLines(server, '/healthz').length >= 1, 'the start-up wait polled /healthz');
    } finally {
      await server.stop();
      await backend.release();
    }
  });
});
