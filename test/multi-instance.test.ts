// extrepo-test-backends: own
// Two extrepo processes over one PostgreSQL database and one S3 bucket behave as one server:
// whatever one instance did, the other sees and serves; the domain rules hold between them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { storeOptionsFromConfig } from '../src/stores/open-stores.js';
import { bundleZip } from './helpers/archives.js';
import { bucketView, type BucketView } from './helpers/bucket.js';
import { startInstance, type Instance } from './helpers/instance.js';
import { ADMIN_KEY, freshSharedStorage, type SharedStorage } from './helpers/server.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const EXT = '/api/v1/deployments/extensions';

let storage: SharedStorage;
let bucket: BucketView;
let a: Instance;
let b: Instance;

before(async () => {
  storage = await freshSharedStorage();
  bucket = bucketView(storage.env);
  // No EXTREPO_LINK_SECRET: the instances must agree on the one generated in the database.
  const env = { ...storage.env, EXTREPO_ADMIN_API_KEY: ADMIN_KEY };
  [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
});

after(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  bucket?.close();
  await storage?.release();
});

async function call(
  instance: Instance,
  method: string,
  path: string,
  init: { json?: unknown; body?: Buffer; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { authorization: `ApiKey ${ADMIN_KEY}`, ...init.headers };
  let body: string | Buffer | undefined = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(instance.url + path, { method, headers, body: body as BodyInit | undefined });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, text };
}

async function create(instance: Instance, name: string): Promise<string> {
  const response = await call(instance, 'POST', EXT, { json: { name, version: '*', extension_type: 'bundle' } });
  assert.equal(response.status, 201, response.text);
  return response.body.id as string;
}

/** The same signed link, on another instance's origin. */
function on(instance: Instance, link: string): string {
  const url = new URL(link);
  return instance.url + url.pathname + url.search;
}

describe('two instances, one database and one bucket', () => {
  test('create on A, upload on B, read and download on both', async () => {
    const id = await create(a, 'across');
    const zip = await bundleZip('uploaded on B\n');
    const uploaded = await call(b, 'PUT', `${EXT}/${id}`, { body: zip, headers: { 'content-type': 'application/zip' } });
    assert.equal(uploaded.status, 200, uploaded.text);
    assert.equal(uploaded.body.file_metadata.sha256, sha256(zip));

    const readOnA = await call(a, 'GET', `${EXT}/${id}`);
    assert.equal(readOnA.status, 200);
    assert.equal(readOnA.body.file_metadata.sha256, sha256(zip));
    assert.equal(readOnA.headers.get('x-cloud-resource-version'), '2');
    const listed = await call(a, 'GET', EXT);
    assert.ok(listed.body.extensions.some((extension: { id: string }) => extension.id === id));

    // A link A signed is valid on B and vice versa (one link secret, kept in the database).
    for (const [signer, server] of [
      [a, b],
      [b, a],
    ] as const) {
      const link = (await call(signer, 'GET', `${EXT}/${id}`)).body.file_metadata.url as string;
      const download = await fetch(on(server, link));
      assert.equal(download.status, 200);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), zip);
      const ranged = await fetch(on(server, link), { headers: { range: 'bytes=2-9' } });
      assert.equal(ranged.status, 206);
      assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), zip.subarray(2, 10));
    }
    assert.ok((await bucket.keys()).includes(`sha256/${sha256(zip)}`));
  });

  test('two conditional updates of one version, one per instance: exactly one wins, the other gets 409', async () => {
    for (let round = 0; round < 5; round += 1) {
      const id = await create(a, `race-${round}`);
      const update = (instance: Instance, name: string) =>
        call(instance, 'POST', `${EXT}/${id}?version=1`, { json: { name, version: '*', extension_type: 'bundle' } });
      const results = await Promise.all([update(a, 'from-a'), update(b, 'from-b')]);
      const statuses = results.map((result) => result.status).sort();
      assert.deepEqual(statuses, [200, 409], results.map((result) => result.text).join('\n'));
      const loser = results.find((result) => result.status === 409)!;
      assert.equal(loser.body.errors[0].code, 'extensions.version_conflict');
      const winner = results.find((result) => result.status === 200)!;
      const read = await call(b, 'GET', `${EXT}/${id}`);
      assert.equal(read.body.name, winner.body.name);
      assert.equal(read.headers.get('x-cloud-resource-version'), '2');
    }
  });

  test('identical bytes uploaded on both at once are stored once, and go with their last reference', async () => {
    const zip = await bundleZip('shared between instances\n');
    const key = `sha256/${sha256(zip)}`;
    const [one, two] = [await create(a, 'same-1'), await create(b, 'same-2')];
    const uploads = await Promise.all([
      call(a, 'PUT', `${EXT}/${one}`, { body: zip, headers: { 'content-type': 'application/zip' } }),
      call(b, 'PUT', `${EXT}/${two}`, { body: zip, headers: { 'content-type': 'application/zip' } }),
    ]);
    assert.deepEqual(
      uploads.map((upload) => upload.status),
      [200, 200],
    );
    assert.equal((await bucket.keys()).filter((k) => k === key).length, 1);
    assert.equal((await call(b, 'DELETE', `${EXT}/${one}`)).status, 200);
    assert.ok((await bucket.keys()).includes(key));
    assert.equal((await call(a, 'DELETE', `${EXT}/${two}`)).status, 200);
    assert.ok(!(await bucket.keys()).includes(key));
    assert.equal((await call(b, 'GET', `${EXT}/${one}`)).status, 404);
    assert.equal((await call(a, 'GET', `${EXT}/${two}`)).status, 404);
  });

  test('ids stay unique: many creates spread over both instances', async () => {
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => create(i % 2 ? a : b, `many-${i}`)));
    assert.equal(new Set(ids).size, ids.length);
    const listed = (await call(b, 'GET', EXT)).body.extensions.map((extension: { id: string }) => extension.id);
    for (const id of ids) assert.ok(listed.includes(id));
  });

  test('an API key created on A works on B', async (t) => {
    const created = await call(a, 'POST', '/api/v1/users/auth/keys', { json: { description: 'multi-instance' } });
    if (created.status === 404 || created.status === 405) {
      t.skip('this build has no API key endpoint (POST /api/v1/users/auth/keys)');
      return;
    }
    assert.ok(created.status === 200 || created.status === 201, created.text);
    const key = created.body.key as string;
    const listed = await fetch(`${b.url}${EXT}`, { headers: { authorization: `ApiKey ${key}` } });
    assert.equal(listed.status, 200);
  });
});

describe('EXTREPO_FILE_LINKS=presigned', () => {
  test('file_metadata.url is a presigned S3 GET that serves the exact bytes, as application/zip, with Range', async () => {
    const presigned = await startInstance({
      ...storage.env,
      EXTREPO_ADMIN_API_KEY: ADMIN_KEY,
      EXTREPO_FILE_LINKS: 'presigned',
      EXTREPO_LINK_TTL_SECONDS: '600',
    });
    try {
      const id = await create(presigned, 'presigned');
      const zip = await bundleZip('served by the object store\n'.repeat(50));
      const uploaded = await call(presigned, 'PUT', `${EXT}/${id}`, { body: zip, headers: { 'content-type': 'application/zip' } });
      assert.equal(uploaded.status, 200, uploaded.text);
      const link = new URL(uploaded.body.file_metadata.url as string);
      assert.equal(link.origin, new URL(storage.env.EXTREPO_S3_ENDPOINT!).origin);
      assert.equal(link.pathname, `/${storage.env.EXTREPO_S3_BUCKET}/${storage.env.EXTREPO_S3_PREFIX}sha256/${sha256(zip)}`);
      assert.equal(link.searchParams.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
      assert.equal(link.searchParams.get('response-content-type'), 'application/zip');
      const expires = Number(link.searchParams.get('X-Amz-Expires'));
      assert.ok(expires >= 600 && expires <= 660, String(expires));
      assert.match(link.searchParams.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
      // Instances configured without the setting keep handing out their own links to the same file.
      const listed = (await call(b, 'GET', EXT)).body.extensions.find((extension: { id: string }) => extension.id === id);
      assert.ok(listed.file_metadata.url.startsWith(`${b.url}/extension-files/`), listed.file_metadata.url);

      const download = await fetch(link);
      assert.equal(download.status, 200);
      assert.equal(download.headers.get('content-type'), 'application/zip');
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), zip);
      const ranged = await fetch(link, { headers: { range: 'bytes=10-49' } });
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers.get('content-range'), `bytes 10-49/${zip.length}`);
      assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), zip.subarray(10, 50));
    } finally {
      await presigned.stop();
    }
  });
});

describe('scale-out settings', () => {
  test('are read, defaulted and mapped onto the stores', async () => {
    const embedded = loadConfig({});
    assert.equal(embedded.database, null);
    assert.equal(embedded.s3, null);
    assert.equal(embedded.fileLinks, 'extrepo');
    assert.equal(embedded.gcIntervalSeconds, 3600);
    assert.equal(embedded.gcGraceSeconds, 86400);
    const config = loadConfig({
      EXTREPO_DATABASE_URL: 'postgres://u:p@db:5432/x',
      EXTREPO_DATABASE_POOL_SIZE: '25',
      EXTREPO_DATABASE_STATEMENT_TIMEOUT_MS: '5000',
      EXTREPO_DATABASE_SSL: 'require',
      EXTREPO_S3_BUCKET: 'files',
      EXTREPO_S3_ENDPOINT: 'http://minio:9000',
      EXTREPO_S3_REGION: 'eu-west-1',
      EXTREPO_S3_FORCE_PATH_STYLE: 'true',
      EXTREPO_S3_PREFIX: 'extrepo/',
      EXTREPO_FILE_LINKS: 'presigned',
      EXTREPO_GC_INTERVAL_SECONDS: '0',
      EXTREPO_GC_GRACE_SECONDS: '600',
    });
    const options = await storeOptionsFromConfig(config);
    assert.equal(options.databaseUrl, 'postgres://u:p@db:5432/x');
    assert.deepEqual(options.postgres, { poolSize: 25, statementTimeoutMs: 5000, ssl: { rejectUnauthorized: false } });
    assert.deepEqual(options.s3, { bucket: 'files', endpoint: 'http://minio:9000', region: 'eu-west-1', forcePathStyle: true, prefix: 'extrepo/' });
    assert.equal(config.fileLinks, 'presigned');
    assert.equal(config.gcIntervalSeconds, 0);
    assert.equal(config.gcGraceSeconds, 600);
  });

  test('an invalid value names the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ EXTREPO_DATABASE_URL: 'mysql://x/y' }, /EXTREPO_DATABASE_URL/],
      [{ EXTREPO_DATABASE_URL: 'postgres://x/y', EXTREPO_DATABASE_POOL_SIZE: '0' }, /EXTREPO_DATABASE_POOL_SIZE/],
      [{ EXTREPO_DATABASE_URL: 'postgres://x/y', EXTREPO_DATABASE_SSL: 'maybe' }, /EXTREPO_DATABASE_SSL/],
      [{ EXTREPO_S3_ENDPOINT: 'http://minio:9000' }, /EXTREPO_S3_ENDPOINT is set but EXTREPO_S3_BUCKET is not/],
      [{ EXTREPO_S3_BUCKET: 'b', EXTREPO_S3_FORCE_PATH_STYLE: 'sometimes' }, /EXTREPO_S3_FORCE_PATH_STYLE/],
      [{ EXTREPO_S3_BUCKET: 'b', EXTREPO_S3_ENDPOINT: 'minio:9000' }, /EXTREPO_S3_ENDPOINT/],
      [{ EXTREPO_FILE_LINKS: 'presigned' }, /EXTREPO_FILE_LINKS=presigned needs S3/],
      [{ EXTREPO_FILE_LINKS: 'cdn' }, /EXTREPO_FILE_LINKS/],
      [{ EXTREPO_GC_GRACE_SECONDS: '-1' }, /EXTREPO_GC_GRACE_SECONDS/],
    ];
    for (const [env, pattern] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && pattern.test(error.message),
        JSON.stringify(env),
      );
    }
  });
});

describe('presigned URL signing', () => {
  test("matches AWS's documented SigV4 query-string example", async () => {
    const { presignGetUrl } = await import('../src/stores/s3/s3-presign.js');
    // "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)", example GET.
    const url = presignGetUrl({
      endpoint: new URL('https://s3.amazonaws.com'),
      pathStyle: false,
      bucket: 'examplebucket',
      key: 'test.txt',
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      signedAt: new Date('2013-05-24T00:00:00Z'),
      expiresInSeconds: 86400,
    });
    assert.equal(
      url,
      'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z' +
        '&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
        '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });
});
