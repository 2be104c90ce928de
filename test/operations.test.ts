// extrepo-test-backends: each
// Running the server as operators do (npm start → src/main.ts): configuration errors, the first-start
// admin key, health, readiness, metrics, the API document, logs without secrets, and SIGTERM.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { bundleZip, zipOf } from './helpers/archives.js';
import { childDone } from './helpers/child-exit.js';
import { startServer, type TestServer } from './helpers/server.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  url: string;
}

// Every server this file starts; a failed assertion must not leave one running (it would hang the run).
const children = new Set<ChildProcessWithoutNullStreams>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

async function run(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', EXTREPO_PORT: String(port), ...env },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, output: () => output, url };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start:\n${output}`);
}

async function stop(running: Running): Promise<number | null> {
  if (running.child.exitCode !== null) return running.child.exitCode;
  const exited = childDone(running.child).then((code) => (typeof code === 'number' ? code : null));
  running.child.kill('SIGTERM');
  return exited;
}

describe('configuration', () => {
  test('an invalid value names the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ EXTREPO_PORT: 'eighty' }, /EXTREPO_PORT/],
      [{ EXTREPO_PORT: '70000' }, /EXTREPO_PORT/],
      [{ EXTREPO_MAX_FILE_BYTES: '-1' }, /EXTREPO_MAX_FILE_BYTES/],
      [{ EXTREPO_PUBLIC_URL: 'ftp://x' }, /EXTREPO_PUBLIC_URL/],
      [{ EXTREPO_LOG_LEVEL: 'loud' }, /EXTREPO_LOG_LEVEL/],
      [{ EXTREPO_ADMIN_API_KEY: 'short' }, /EXTREPO_ADMIN_API_KEY/],
    ];
    for (const [env, pattern] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && pattern.test(error.message),
      );
    }
  });

  test("defaults are ECE's port, loopback, ./data, 8 GiB files and 4× that uncompressed", () => {
    const config = loadConfig({});
    assert.equal(config.port, 12400);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, path.resolve('data'));
    assert.equal(config.maxFileBytes, 8 * 1024 ** 3);
    assert.equal(config.maxUncompressedBytes, 32 * 1024 ** 3);
    assert.equal(config.maxZipEntries, 10_000);
  });

  test('the server refuses to start on an invalid value, naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { PATH: process.env.PATH ?? '', EXTREPO_PORT: 'nope' } });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await childDone(child);
    assert.equal(code, 2);
    assert.match(stderr, /EXTREPO_PORT/);
  });
});

describe('npm start', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-main-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('the first start prints the admin password once; it works, survives a restart, and is never logged again', async () => {
    const first = await run({ EXTREPO_DATA_DIR: dataDir });
    const key = /created the built-in user "admin"[^\n]*\n\n\s+(\S+)/.exec(first.output())?.[1];
    assert.ok(key, first.output());
    const headers = { authorization: `Basic ${Buffer.from(`admin:${key}`).toString('base64')}` };
    const created = await fetch(`${first.url}/api/v1/deployments/extensions`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kept', version: '*', extension_type: 'bundle' }),
    });
    assert.equal(created.status, 201);
    const id = ((await created.json()) as { id: string }).id;
    const upload = await fetch(`${first.url}/api/v1/deployments/extensions/${id}`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/zip' },
      body: new Uint8Array(await bundleZip()),
    });
    const link = ((await upload.json()) as { file_metadata: { url: string } }).file_metadata.url;
    assert.equal(await fetch(link).then((r) => r.status), 200);
    assert.equal(await stop(first), 0);
    const firstLog = first.output().replace(/created the built-in user "admin"[\s\S]*?Log in with:[^\n]*\n/, '');
    assert.ok(!firstLog.includes(key), 'the key appears only in the one-time message');
    assert.ok(!firstLog.includes(new URL(link).searchParams.get('signature')!), 'no signature in the logs');

    const second = await run({ EXTREPO_DATA_DIR: dataDir });
    try {
      assert.doesNotMatch(second.output(), /created the built-in user/);
      const listed = await fetch(`${second.url}/api/v1/deployments/extensions`, { headers });
      assert.equal(listed.status, 200);
      assert.equal(((await listed.json()) as { extensions: unknown[] }).extensions.length, 1);
      assert.equal(await fetch(link.replace(first.url, second.url)).then((r) => r.status), 200, 'the link secret survives restarts');
    } finally {
      assert.equal(await stop(second), 0);
    }
  });

  test('SIGTERM lets an upload in flight finish, refuses new work, then exits 0', async () => {
    const key = 'operator-key-0123456789';
    const running = await run({ EXTREPO_DATA_DIR: dataDir, EXTREPO_ADMIN_API_KEY: key });
    const created = await fetch(`${running.url}/api/v1/deployments/extensions`, {
      method: 'POST',
      headers: { authorization: `ApiKey ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'in-flight', version: '*', extension_type: 'bundle' }),
    });
    const id = ((await created.json()) as { id: string }).id;
    const zip = await zipOf({ 'data.bin': Buffer.alloc(512 * 1024, 5) }, { compress: false });
    const exited = childDone(running.child).then((code) => (typeof code === 'number' ? code : null));
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(`${running.url}/api/v1/deployments/extensions/${id}`, {
        method: 'PUT',
        headers: { authorization: `ApiKey ${key}`, 'content-type': 'application/zip', 'content-length': String(zip.length) },
      });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.write(zip.subarray(0, 1000), () => {
        // Half-way through the upload, the operator stops the server.
        setTimeout(() => {
          running.child.kill('SIGTERM');
          setTimeout(() => request.end(zip.subarray(1000)), 300);
        }, 200);
      });
    });
    assert.equal(status, 200, running.output());
    assert.equal(await exited, 0);
    assert.match(running.output(), /shutting down/);
    const refused = await fetch(`${running.url}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    assert.equal(refused, 'refused');
  });

  test('logs one JSON line per request and stops cleanly on SIGTERM', async () => {
    const running = await run({ EXTREPO_DATA_DIR: dataDir, EXTREPO_ADMIN_API_KEY: 'operator-key-0123456789' });
    await fetch(`${running.url}/api/v1/deployments/extensions`, { headers: { authorization: 'ApiKey operator-key-0123456789' } });
    assert.equal(await stop(running), 0);
    const lines = running
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    const requests = lines
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.msg === 'request' && entry.route === '/api/v1/deployments/extensions');
    assert.equal(requests.length, 1);
    assert.equal(requests[0].status, 200);
    assert.ok(!running.output().includes('operator-key-0123456789'));
  });
});

describe('operational endpoints', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  test('/healthz and /readyz answer 200 without credentials', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
  });

  test('/readyz answers 503 when a store is unreachable', async () => {
    const broken = await startServer();
    await broken.store.close();
    try {
      const response = await fetch(`${broken.url}/readyz`);
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('x-cloud-error-codes'), 'root.service_unavailable');
    } finally {
      await broken.close(); // closing the store again is harmless; this also removes its data dir
    }
  });

  test('/metrics exposes request, byte, rejection and download counters in Prometheus format', async () => {
    const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'm', version: '*', extension_type: 'bundle' } });
    await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
      body: await bundleZip(),
      headers: { 'content-type': 'application/zip' },
    });
    await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
      body: Buffer.from('nope'),
      headers: { 'content-type': 'application/zip' },
    });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /extrepo_http_requests_total\{route="\/api\/v1\/deployments\/extensions",method="POST",status="201"\} 1/);
    assert.match(text, /extrepo_http_request_duration_seconds_bucket/);
    assert.match(text, /extrepo_uploaded_bytes_total [1-9]/);
    assert.match(text, /extrepo_archive_rejections_total\{reason="not_a_zip"\} 1/);
    assert.match(text, /extrepo_blob_store_bytes/);
  });

  test("the API document is Elastic's Swagger 2.0, served without credentials where ECE serves it", async () => {
    const response = await fetch(`${server.url}/api/v1/api-docs/swagger.json`);
    assert.equal(response.status, 200);
    const doc = (await response.json()) as { swagger: string; basePath: string; paths: Record<string, unknown> };
    assert.equal(doc.swagger, '2.0');
    assert.equal(doc.basePath, '/api/v1');
    assert.ok(doc.paths['/deployments/extensions/{extension_id}']);
  });
});
