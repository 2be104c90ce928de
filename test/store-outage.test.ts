// extrepo-test-backends: own
// A store that goes down is an outage, not a bug: every request that needs it answers 503 with
// Retry-After and a BasicFailedReply naming the store (never its address); what does not need it
// keeps working; and everything recovers, without a restart, once the store is back. The stores
// here are this file's own PostgreSQL cluster and s3rver, really stopped and started again on the
// same port.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openStores, storeOptionsFromConfig, type Stores } from '../src/stores/open-stores.js';
import { bundleZip } from './helpers/archives.js';
import { startRestartablePostgres, type RestartablePostgres } from './helpers/postgres.js';
import { startS3, type RestartableS3 } from './helpers/s3.js';
import { ADMIN_KEY } from './helpers/server.js';

const EXT = '/api/v1/deployments/extensions';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let postgres: RestartablePostgres;
let s3: RestartableS3;
let stores: Stores;
let app: App;
let url: string;
let dataDir: string;

before(async () => {
  [postgres, s3] = await Promise.all([startRestartablePostgres(), startS3()]);
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-outage-'));
  process.env.AWS_ACCESS_KEY_ID ??= s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= s3.credentials.secretAccessKey;
  const config = loadConfig({
    EXTREPO_DATA_DIR: dataDir,
    EXTREPO_PORT: '0',
    EXTREPO_ADMIN_API_KEY: ADMIN_KEY,
    EXTREPO_LOG_LEVEL: 'silent',
    EXTREPO_DATABASE_URL: postgres.url,
    EXTREPO_S3_BUCKET: s3.bucket,
    EXTREPO_S3_ENDPOINT: s3.endpoint,
    EXTREPO_S3_REGION: s3.region,
    EXTREPO_S3_FORCE_PATH_STYLE: 'true',
  });
  stores = await openStores(await storeOptionsFromConfig(config));
  app = await buildApp({ config, store: stores.metadata, blobs: stores.blobs, logger: false });
  url = await app.fastify.listen({ host: '127.0.0.1', port: 0 });
  app.setListeningAddress(url);
});

after(async () => {
  await app?.fastify.close();
  await Promise.allSettled([stores?.metadata.close(), stores?.blobs.close()]);
  await Promise.allSettled([postgres?.stop(), s3?.stop()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function call(method: string, apiPath: string, init: { json?: unknown; body?: Buffer } = {}) {
  const headers: Record<string, string> = { authorization: `ApiKey ${ADMIN_KEY}` };
  let body: string | Buffer | undefined = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  }
  if (init.body !== undefined) headers['content-type'] = 'application/zip';
  const response = await fetch(url + apiPath, { method, headers, body: body as BodyInit | undefined });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, text };
}

async function createWithFile(name: string, content: string): Promise<{ id: string; link: string; zip: Buffer }> {
  const created = await call('POST', EXT, { json: { name, version: '*', extension_type: 'bundle' } });
  assert.equal(created.status, 201, created.text);
  const zip = await bundleZip(content);
  const uploaded = await call('PUT', `${EXT}/${created.body.id}`, { body: zip });
  assert.equal(uploaded.status, 200, uploaded.text);
  return { id: created.body.id as string, link: uploaded.body.file_metadata.url as string, zip };
}

/** The 503 a store outage answers: retryable, naming the store, without any internal address. */
function assertOutage(response: { status: number; headers: Headers; body: any; text: string }, store: RegExp): void {
  assert.equal(response.status, 503, response.text);
  assert.equal(response.headers.get('x-cloud-error-codes'), 'root.service_unavailable');
  assert.match(response.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
  assert.equal(response.body.errors.length, 1);
  assert.equal(response.body.errors[0].code, 'root.service_unavailable');
  assert.match(response.body.errors[0].message, store);
  assert.doesNotMatch(response.text, /127\.0\.0\.1|localhost|:\d{4,5}\b/);
}

async function fetchJson(link: string) {
  const response = await fetch(link);
  const buffer = Buffer.from(await response.arrayBuffer());
  let body: any;
  try {
    body = JSON.parse(buffer.toString());
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text: buffer.toString(), buffer };
}

describe('a store outage answers 503 and recovers without a restart', () => {
  test('with S3 down, uploads and downloads answer 503 naming the file store, metadata keeps working, and all recovers', async () => {
    const before = await createWithFile('outage-s3', 'stored before the outage\n');
    await s3.halt();
    try {
      const upload = await call('PUT', `${EXT}/${before.id}`, { body: await bundleZip('during the outage\n') });
      assertOutage(upload, /file store \(S3\)/);
      assertOutage(await fetchJson(before.link), /file store \(S3\)/);

      // Metadata does not need S3: reads, lists and metadata-only changes keep working.
      const read = await call('GET', `${EXT}/${before.id}`);
      assert.equal(read.status, 200, read.text);
      assert.equal(read.body.file_metadata.sha256, sha256(before.zip), 'the failed upload did not replace the file');
      assert.equal((await call('GET', EXT)).status, 200);
      const created = await call('POST', EXT, { json: { name: 'made-during-s3-outage', version: '*', extension_type: 'bundle' } });
      assert.equal(created.status, 201, created.text);

      const ready = await fetchJson(`${url}/readyz`);
      assertOutage(ready, /file store \(S3\)/);
    } finally {
      await s3.resume();
    }
    const download = await fetchJson(before.link);
    assert.equal(download.status, 200);
    assert.equal(sha256(download.buffer), sha256(before.zip));
    const zip = await bundleZip('after the outage\n');
    const upload = await call('PUT', `${EXT}/${before.id}`, { body: zip });
    assert.equal(upload.status, 200, upload.text);
    assert.equal(upload.body.file_metadata.sha256, sha256(zip));
    assert.equal((await fetchJson(`${url}/readyz`)).status, 200);
  });

  test('with PostgreSQL down, requests answer 503 naming the metadata store, and all recovers', async () => {
    const before = await createWithFile('outage-pg', 'stored before the database outage\n');
    await postgres.halt();
    try {
      assertOutage(await call('GET', `${EXT}/${before.id}`), /metadata store \(PostgreSQL\)/);
      assertOutage(await call('GET', EXT), /metadata store \(PostgreSQL\)/);
      assertOutage(await call('POST', EXT, { json: { name: 'x', version: '*', extension_type: 'bundle' } }), /metadata store \(PostgreSQL\)/);
      assertOutage(await call('PUT', `${EXT}/${before.id}`, { body: await bundleZip('lost\n') }), /metadata store \(PostgreSQL\)/);
      assertOutage(await call('DELETE', `${EXT}/${before.id}`), /metadata store \(PostgreSQL\)/);
      assertOutage(await fetchJson(before.link), /metadata store \(PostgreSQL\)/);
      assertOutage(await fetchJson(`${url}/readyz`), /metadata store \(PostgreSQL\)/);
    } finally {
      await postgres.resume();
    }
    const read = await call('GET', `${EXT}/${before.id}`);
    assert.equal(read.status, 200, read.text);
    const download = await fetchJson(before.link);
    assert.equal(download.status, 200);
    assert.equal(sha256(download.buffer), sha256(before.zip));
    assert.equal((await call('DELETE', `${EXT}/${before.id}`)).status, 200);
    assert.equal((await fetchJson(`${url}/readyz`)).status, 200);
  });
});
