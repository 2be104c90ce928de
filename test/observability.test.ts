// extrepo-test-backends: each
// What the server says about itself is true on every backend: its version (/healthz,
// extrepo_build_info), the bytes of the files it stores (extrepo_blob_store_bytes, also on S3), which
// store is down (/readyz, without the store's internal address), and process warnings as log lines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bundleZip } from './helpers/archives.js';
import { backendEnv } from './helpers/backend-env.js';
import { startInstance } from './helpers/instance.js';
import { metricValue } from './helpers/metrics.js';
import { startServer, testBackend, type TestServer } from './helpers/server.js';

const EXT = '/api/v1/deployments/extensions';
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe('version', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  test('/healthz and extrepo_build_info say which extrepo version runs', async () => {
    assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok', version: VERSION });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, new RegExp(`^extrepo_build_info\\{version="${VERSION.replace(/\./g, '\\.')}",node="${process.versions.node}"\\} 1$`, 'm'));
  });

  test('extrepo_blob_store_bytes is the size of the distinct files stored, each counted once', async () => {
    const zipA = await bundleZip('first file\n');
    const zipB = await bundleZip('a second, longer file\n'.repeat(50));
    const ids: string[] = [];
    for (const zip of [zipA, zipB, zipA]) {
      const created = await server.api('POST', EXT, { json: { name: 'sized', version: '*', extension_type: 'bundle' } });
      const uploaded = await server.api('PUT', `${EXT}/${created.body.id}`, { body: zip, headers: { 'content-type': 'application/zip' } });
      assert.equal(uploaded.status, 200);
      ids.push(created.body.id);
    }
    const metrics = async () => metricValue(await (await fetch(`${server.url}/metrics`)).text(), 'extrepo_blob_store_bytes');
    assert.equal(await metrics(), zipA.length + zipB.length);
    assert.equal((await server.api('DELETE', `${EXT}/${ids[1]}`)).status, 200);
    assert.equal(await metrics(), zipA.length);
    assert.equal((await server.api('DELETE', `${EXT}/${ids[0]}`)).status, 200);
    assert.equal(await metrics(), zipA.length, 'still referenced by the third extension');
  });
});

describe('/readyz', () => {
  const noAddresses = (text: string, secrets: string[]) => {
    for (const secret of secrets) assert.ok(!text.includes(secret), `/readyz reveals ${secret}: ${text}`);
    assert.doesNotMatch(text, /\d+\.\d+\.\d+\.\d+|localhost|\/tmp\/|:\d{2,5}\b/);
  };

  test('names the metadata store when it is down, and nothing of where it is', async () => {
    const server = await startServer();
    try {
      await server.store.close();
      const response = await fetch(`${server.url}/readyz`);
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('x-cloud-error-codes'), 'root.service_unavailable');
      const body = (await response.json()) as { errors: Array<{ message: string }> };
      assert.match(body.errors[0]!.message, testBackend() === 'postgres-s3' ? /metadata store \(PostgreSQL\)/ : /metadata store \(SQLite\)/);
      assert.doesNotMatch(body.errors[0]!.message, /file store/);
      noAddresses(JSON.stringify(body), [server.dataDir, server.config.database?.url ?? server.dataDir]);
    } finally {
      await server.close();
    }
  });

  test('names the file store when it is down, and nothing of where it is', async () => {
    const port = await closedPort();
    const server = await startServer(testBackend() === 'postgres-s3' ? { EXTREPO_S3_ENDPOINT: `http://127.0.0.1:${port}` } : {});
    try {
      if (testBackend() === 'sqlite-fs') await rm(path.join(server.dataDir, 'blobs'), { recursive: true, force: true });
      const response = await fetch(`${server.url}/readyz`);
      assert.equal(response.status, 503);
      const body = (await response.json()) as { errors: Array<{ message: string }> };
      assert.match(body.errors[0]!.message, testBackend() === 'postgres-s3' ? /file store \(S3\)/ : /file store \(local disk\)/);
      assert.doesNotMatch(body.errors[0]!.message, /metadata store/);
      noAddresses(JSON.stringify(body), [server.dataDir, String(port)]);
    } finally {
      await server.close();
    }
  });
});

describe('process warnings', () => {
  test('a multi-line process warning is one JSON log line, and nothing else is printed as loose text', async () => {
    const backend = await backendEnv();
    // Emits a two-line warning in the server process when the test asks (SIGUSR2), once it runs.
    const trigger = `data:text/javascript,process.on('SIGUSR2',()=>process.emitWarning('first line\\nsecond line','TestWarning'))`;
    const server = await startInstance({ ...backend.env, EXTREPO_LOG_LEVEL: 'info' }, { nodeOptions: ['--import', trigger] });
    try {
      server.child.kill('SIGUSR2');
      let line: { msg: string; warning: { name: string; message: string } } | undefined;
      for (let attempt = 0; attempt < 200 && line === undefined; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        line = server
          .output()
          .split('\n')
          .filter((text) => text.startsWith('{'))
          .map((text) => JSON.parse(text))
          .find((entry) => entry.warning?.name === 'TestWarning');
      }
      assert.ok(line, server.output());
      assert.equal(line.msg, 'process warning');
      assert.equal(line.warning.message, 'first line\nsecond line');
      // The AWS SDK warns about Node.js versions before 22 when its client is created.
      if (testBackend() === 'postgres-s3' && Number(process.versions.node.split('.')[0]) < 22) {
        assert.match(server.output(), /^\{.*"message":"NodeVersionSupportWarning/m);
      }
      await server.stop();
      const loose = server
        .output()
        .split('\n')
        .filter((text) => text !== '' && !text.startsWith('{'));
      // The first start prints the generated admin password as text on purpose; nothing else may be.
      const passwordBlock = loose.filter((text) => !/created the built-in user|^\s+\S+$|Log in with|Set EXTREPO_ADMIN_PASSWORD/.test(text));
      assert.deepEqual(passwordBlock, []);
    } finally {
      await server.stop();
      await backend.release();
    }
  });
});
