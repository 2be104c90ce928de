// extrepo-test-backends: each
// The hot read of GET /deployments/extensions/{id} (src/http/hot-extension-read.ts), over real HTTP:
// fastify.inject() never reaches it, since it sits in front of Fastify on the server's 'request'
// listener. It must answer exactly as the route would (bytes, headers and their order, metrics, the
// request log line) and step aside whenever it cannot: a first read, a changed or deleted extension,
// a query string, a HEAD, a caller who may not see the extension or whose key was just deleted, a
// server that is starting or closing. It exists only on the embedded store: on PostgreSQL + S3 this
// file checks that there is none and that the route alone still answers.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { LOG_OPTIONS } from '../src/log-options.js';
import { openStores, storeOptionsFromConfig } from '../src/stores/open-stores.js';
import { bundleZip } from './helpers/archives.js';
import { ADMIN_KEY, startServer, testBackend, type TestServer } from './helpers/server.js';

const EXT = '/api/v1/deployments/extensions';
const ADMIN = { authorization: `ApiKey ${ADMIN_KEY}` };
const PASSWORD = 'Hot-read-password-0123456789';
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const embedded = testBackend() === 'sqlite-fs';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names in the order they came on the wire. */
  names: string[];
  body: string;
}

/** One request by node:http (fetch would hide the header order); the path goes as written, a bare "?" included. */
function send(url: string, headers: Record<string, string> = ADMIN, method = 'GET'): Promise<Answer> {
  const { hostname, port, origin } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request({ hostname, port, path: url.slice(origin.length), method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({
          status: response.statusCode!,
          headers: response.headers,
          names: response.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase()),
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

/** Status, body, header values (but the per-request date and id) and header order all equal. */
function assertSameAnswer(actual: Answer, expected: Answer): void {
  assert.equal(actual.status, expected.status);
  assert.equal(actual.body, expected.body);
  assert.deepEqual(actual.names, expected.names);
  const stable = (headers: http.IncomingHttpHeaders) =>
    Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'date' && name !== 'x-request-id'));
  assert.deepEqual(stable(actual.headers), stable(expected.headers));
}

/**
 * file_metadata.url is signed with an expiry rounded to the minute (default TTL), so its text
 * changes at each whole minute: a comparison that straddles one would compare two links.
 */
async function clearOfLinkStep(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 54_000) await sleep(60_000 - intoMinute + 200);
}

/** Polls until `read()` reaches `target` (a lane answer is counted and logged when its response closes). */
async function until(read: () => number | Promise<number>, target: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const value = await read();
    if (value >= target) return value;
    await sleep(25);
  }
  return read();
}

async function createWithFile(base: string, name: string, authorization = ADMIN.authorization): Promise<string> {
  const headers = { authorization, 'content-type': 'application/json' };
  const created = await fetch(base + EXT, { method: 'POST', headers, body: JSON.stringify({ name, version: '*', extension_type: 'bundle' }) });
  assert.equal(created.status, 201, await created.clone().text());
  const { id } = (await created.json()) as { id: string };
  const zip = await bundleZip(`${name}\n`);
  const uploaded = await fetch(`${base}${EXT}/${id}`, {
    method: 'PUT',
    headers: { authorization, 'content-type': 'application/zip' },
    body: zip as unknown as BodyInit,
  });
  assert.equal(uploaded.status, 200, await uploaded.text());
  return id;
}

describe('hot extension read (embedded store)', { skip: !embedded && 'only the embedded store keeps records in memory' }, () => {
  let server: TestServer;
  let id: string;
  const served = () => server.app.hotRead!.served;
  const url = (extensionId: string, suffix = '') => `${server.url}${EXT}/${extensionId}${suffix}`;

  async function createUser(name: string, roles: string[]): Promise<void> {
    const response = await server.api('POST', '/api/v1/users', { json: { user_name: name, security: { roles, password: PASSWORD } } });
    assert.equal(response.status, 200, response.text);
  }

  before(async () => {
    server = await startServer();
    id = await createWithFile(server.url, 'hot');
  });
  after(async () => {
    await server?.close();
  });

  test('later GETs are answered by the lane, byte for byte and header for header as the route answers', async () => {
    assert.ok(server.app.hotRead !== null);
    await clearOfLinkStep();
    const first = await send(url(id));
    const before = served();
    const answers = [await send(url(id)), await send(url(id)), await send(url(id))];
    assert.equal(served(), before + 3, 'the lane answered the repeated GETs');
    // A query string always takes the route: the reference answer.
    const reference = await send(url(id, '?include_deployments=false'));
    assert.equal(served(), before + 3);
    assert.equal(reference.status, 200);
    assert.ok(JSON.parse(reference.body).file_metadata.url, 'an extension with a file, whose answer carries a signed link');
    for (const answer of [first, ...answers]) assertSameAnswer(answer, reference);
  });

  test('a first read and the read after each change take the route, and show the new data', async () => {
    const fresh = await createWithFile(server.url, 'changing');
    const start = served();
    const first = await send(url(fresh));
    assert.equal(first.status, 200);
    assert.equal(served(), start, 'nothing kept yet: the route answers');
    const kept = await send(url(fresh));
    assert.equal(served(), start + 1);
    assertSameAnswer(kept, first);

    const updated = await server.api('POST', `${EXT}/${fresh}`, { json: { name: 'renamed', version: '*', extension_type: 'bundle' } });
    assert.equal(updated.status, 200, updated.text);
    const afterUpdate = await send(url(fresh));
    assert.equal(served(), start + 1, 'a changed record has no kept answer');
    assert.equal(JSON.parse(afterUpdate.body).name, 'renamed');
    assert.notEqual(afterUpdate.headers['x-cloud-resource-version'], kept.headers['x-cloud-resource-version']);
    assert.equal(afterUpdate.headers['x-cloud-resource-version'], updated.headers.get('x-cloud-resource-version'));
    assertSameAnswer(await send(url(fresh)), afterUpdate);
    assert.equal(served(), start + 2);

    const put = await server.api('PUT', `${EXT}/${fresh}`, {
      body: await bundleZip('new content\n'),
      headers: { 'content-type': 'application/zip' },
    });
    assert.equal(put.status, 200, put.text);
    const afterPut = await send(url(fresh));
    assert.equal(served(), start + 2);
    assert.equal(JSON.parse(afterPut.body).file_metadata.sha256, put.body.file_metadata.sha256);
    assert.notEqual(JSON.parse(afterPut.body).file_metadata.sha256, JSON.parse(afterUpdate.body).file_metadata.sha256);
    assert.equal(afterPut.headers['x-cloud-resource-last-modified'], put.headers.get('x-cloud-resource-last-modified'));

    assert.equal((await server.api('DELETE', `${EXT}/${fresh}`)).status, 200);
    const gone = await send(url(fresh));
    assert.equal(gone.status, 404);
    assert.equal(JSON.parse(gone.body).errors[0].code, 'extensions.not_found');
    assert.equal(served(), start + 2);
  });

  test('what the lane cannot answer exactly falls through to the route, which answers it right', async () => {
    await clearOfLinkStep();
    const reference = await send(url(id));
    const start = served();
    assertSameAnswer(await send(url(id)), reference);
    assert.equal(served(), start + 1, 'the admin is recalled and the answer kept: the lane could answer');

    const unknown = await send(url('9999999999'));
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.body).errors[0].code, 'extensions.not_found');
    // A bare "?" and a percent-encoded first character name the same extension to the route.
    const encoded = `%${id.charCodeAt(0).toString(16)}${id.slice(1)}`;
    for (const other of [await send(url(id, '?')), await send(url(encoded))]) assert.equal(other.body, reference.body);
    const head = await send(url(id), ADMIN, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['x-cloud-resource-version'], reference.headers['x-cloud-resource-version']);
    assert.equal(served(), start + 1, 'none of these by the lane');
  });

  test('a caller who may not see the extension gets the 404 of the route', async () => {
    await createUser('bob', ['ece_deployment_manager']);
    const asBob = { authorization: basic('bob') };
    const own = await createWithFile(server.url, 'bobs', asBob.authorization);
    // Both answers are kept within one signed-link step, so each second GET is the lane's to answer.
    await clearOfLinkStep();
    await send(url(own), asBob);
    await send(url(id));
    const start = served();
    assert.equal((await send(url(own), asBob)).status, 200);
    assert.equal(served(), start + 1, 'bob is recalled: the lane answers his own extension');
    await send(url(id));
    const theirs = await send(url(id), asBob);
    assert.equal(theirs.status, 404);
    assert.equal(JSON.parse(theirs.body).errors[0].code, 'extensions.not_found');
    assert.equal(served(), start + 2, "only the admin's GET by the lane, not bob's");
  });

  test('a deleted API key is refused at once, even right after the lane answered it', async () => {
    await createUser('viewer', ['ece_platform_viewer']);
    const key = await server.api('POST', '/api/v1/users/auth/keys', { json: { description: 'hot' }, headers: { authorization: basic('viewer') } });
    assert.equal(key.status, 201, key.text);
    const withKey = { authorization: `ApiKey ${key.body.key}` };
    await send(url(id), withKey);
    const start = served();
    assert.equal((await send(url(id), withKey)).status, 200);
    assert.equal(served(), start + 1, 'the key is recalled');
    const deleted = await server.api('DELETE', `/api/v1/users/auth/keys/${key.body.id}`, { headers: { authorization: basic('viewer') } });
    assert.equal(deleted.status, 200, deleted.text);
    const refused = await send(url(id), withKey);
    assert.equal(refused.status, 401);
    assert.equal(served(), start + 1);
  });

  test("the lane echoes a client's safe X-Request-Id and replaces an unsafe one with a UUID", async () => {
    await send(url(id));
    const start = served();
    const safe = await send(url(id), { ...ADMIN, 'x-request-id': 'Trace-42.a:b_c' });
    const unsafe = await send(url(id), { ...ADMIN, 'x-request-id': 'has space' });
    assert.equal(served(), start + 2);
    assert.equal(safe.headers['x-request-id'], 'Trace-42.a:b_c');
    assert.match(String(unsafe.headers['x-request-id']), UUID);
  });

  test('each lane answer is counted once in /metrics, as the route counts it', async () => {
    const series = `{route="${EXT}/:extension_id",method="GET"`;
    const scrape = async (pattern: string): Promise<number> => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const line = text.split('\n').find((candidate) => candidate.startsWith(pattern));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const total = () => scrape(`extrepo_http_requests_total${series},status="200"} `);
    const timed = () => scrape(`extrepo_http_request_duration_seconds_count${series}} `);
    await send(url(id));
    // Settled: the GET just made is counted when its response closes.
    await sleep(100);
    const [countBefore, timedBefore, start] = [await total(), await timed(), served()];
    const n = 7;
    for (let i = 0; i < n; i++) assert.equal((await send(url(id))).status, 200);
    assert.equal(served(), start + n);
    assert.equal(await until(total, countBefore + n), countBefore + n);
    assert.equal(await until(timed, timedBefore + n), timedBefore + n);
  });

  test('while held (starting) or closing, the route answers instead, still 200', async () => {
    const hot = server.app.hotRead!;
    await clearOfLinkStep();
    const reference = await send(url(id));
    hot.hold(true);
    const start = served();
    assertSameAnswer(await send(url(id)), reference);
    assert.equal(served(), start, 'held: the route');
    hot.hold(false);
    assertSameAnswer(await send(url(id)), reference);
    assert.equal(served(), start + 1, 'released: the lane again');
    // What preClose does when fastify.close() begins (the close itself would answer 503).
    hot.markClosing();
    assertSameAnswer(await send(url(id)), reference);
    assert.equal(served(), start + 1, 'closing: the route');
  });
});

describe('the request log line of a lane answer (embedded store)', { skip: !embedded && 'only the embedded store keeps records in memory' }, () => {
  // startServer logs nothing, so this app logs at info level into `written`, the format main.ts uses.
  let app: App;
  let base: string;
  let dataDir: string;
  let close: () => Promise<void>;
  const written: string[] = [];

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-hot-log-'));
    const config = loadConfig({ EXTREPO_DATA_DIR: dataDir, EXTREPO_PORT: '0', EXTREPO_ADMIN_API_KEY: ADMIN_KEY, EXTREPO_LOG_LEVEL: 'info' });
    const { metadata, blobs } = await openStores(await storeOptionsFromConfig(config));
    app = await buildApp({
      config,
      store: metadata,
      blobs,
      logger: { level: 'info', ...LOG_OPTIONS, stream: { write: (line: string) => written.push(line) } },
    });
    base = await app.fastify.listen({ host: '127.0.0.1', port: 0 });
    app.setListeningAddress(base);
    close = async () => {
      await app.fastify.close();
      await metadata.close();
      await blobs.close();
    };
  });
  after(async () => {
    await close?.();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('one line per request, with the fields, order and values of the route line', async () => {
    const id = await createWithFile(base, 'logged');
    const headers = { ...ADMIN, 'user-agent': 'hot-read-test/1' };
    const linesOf = (reqId: unknown) =>
      written.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request' && line.reqId === reqId);
    const routeAnswer = await send(`${base}${EXT}/${id}`, headers);
    const start = app.hotRead!.served;
    const laneAnswers = [await send(`${base}${EXT}/${id}`, headers), await send(`${base}${EXT}/${id}`, headers)];
    assert.equal(app.hotRead!.served, start + 2);

    const requestIds = [routeAnswer, ...laneAnswers].map((answer) => answer.headers['x-request-id']);
    assert.equal(new Set(requestIds).size, 3);
    await until(() => requestIds.filter((reqId) => linesOf(reqId).length > 0).length, 3);
    await sleep(50); // a second line for the same request would come right after the first
    const [routeLines, ...laneLines] = requestIds.map(linesOf);
    assert.equal(routeLines!.length, 1);
    const routeLine = routeLines![0]!;
    assert.equal(routeLine.status, 200);
    assert.equal(routeLine.userAgent, 'hot-read-test/1');
    const comparable = ({ time: _time, ms: _ms, reqId: _reqId, ...rest }: Record<string, unknown>) => rest;
    for (const lines of laneLines) {
      assert.equal(lines.length, 1, 'exactly one line per lane answer');
      const line = lines[0]!;
      assert.deepEqual(Object.keys(line), Object.keys(routeLine), 'the same fields in the same order, reqId first among them');
      assert.deepEqual(comparable(line), comparable(routeLine));
      assert.equal(typeof line.ms, 'number');
    }
  });
});

describe('no hot read on PostgreSQL + S3', { skip: embedded && 'the embedded store has the lane' }, () => {
  test('the app has no lane, and the route answers repeated GETs alike', async () => {
    const server = await startServer();
    try {
      assert.equal(server.app.hotRead, null);
      const id = await createWithFile(server.url, 'pg');
      await clearOfLinkStep();
      const url = `${server.url}${EXT}/${id}`;
      const first = await send(url);
      assert.equal(first.status, 200);
      assertSameAnswer(await send(url), first);
    } finally {
      await server.close();
    }
  });
});
