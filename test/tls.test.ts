// extrepo-test-backends: none
// Built-in TLS (EXTREPO_TLS_CERT, EXTREPO_TLS_KEY): HTTPS with a throwaway certificate made by
// openssl, links and the API document that say https, a renewed certificate picked up on SIGHUP,
// a broken renewal that keeps the old one, and a key that does not match refused at start.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { bundleZip } from './helpers/archives.js';
import { errorLines, freePort, spawnChild, waitFor, type Child } from './helpers/entry-point.js';

const OPTIONS = { timeout: 120_000 };
const ADMIN_KEY = 'tls-test-admin-key-0123456789';
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-tls-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A self-signed certificate for 127.0.0.1 and localhost (openssl; .ci/run installs it). */
function makeCertificate(name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

interface Reply {
  status: number;
  body: string;
  /** Common name of the certificate the server presented. */
  servedBy: string;
}

/** One request on a new connection (agent: false), trusting only `ca`. */
function request(url: string, ca: Buffer[], options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: options.method ?? 'GET', headers: options.headers, ca, agent: false }, (response) => {
      const servedBy = String((response.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString(), servedBy }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function startTls(env: Record<string, string>, ca: Buffer[]): Promise<Child & { url: string }> {
  const port = await freePort();
  const child = spawnChild({
    EXTREPO_PORT: String(port),
    EXTREPO_DATA_DIR: await mkdtemp(path.join(dir, 'data-')),
    EXTREPO_ADMIN_API_KEY: ADMIN_KEY,
    ...env,
  });
  const url = `https://127.0.0.1:${port}`;
  const up = await waitFor(child, () =>
    request(`${url}/healthz`, ca).then(
      (reply) => reply.status === 200,
      () => false,
    ),
  );
  if (!up) throw new Error(`extrepo did not start with TLS:\n${child.stdout()}${child.stderr()}`);
  return { ...child, url };
}

describe('HTTPS', () => {
  test('serves the API over TLS; links and the API document say https; plain HTTP gets no answer', OPTIONS, async () => {
    const first = makeCertificate('first');
    const ca = [await readFile(first.cert)];
    const server = await startTls({ EXTREPO_TLS_CERT: first.cert, EXTREPO_TLS_KEY: first.key }, ca);
    try {
      const spec = await request(`${server.url}/api/v1/api-docs/swagger.json`, ca);
      assert.equal(spec.status, 200);
      assert.deepEqual(JSON.parse(spec.body).schemes, ['https']);

      const auth = { authorization: `ApiKey ${ADMIN_KEY}` };
      const created = await request(`${server.url}/api/v1/deployments/extensions`, ca, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ name: 'over-tls', version: '*', extension_type: 'bundle' })),
      });
      assert.equal(created.status, 201, created.body);
      const id = JSON.parse(created.body).id as string;
      const zip = await bundleZip();
      const uploaded = await request(`${server.url}/api/v1/deployments/extensions/${id}`, ca, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/zip', 'content-length': String(zip.length) },
        body: zip,
      });
      assert.equal(uploaded.status, 200, uploaded.body);
      const link = JSON.parse(uploaded.body).file_metadata.url as string;
      assert.ok(link.startsWith(`${server.url}/extension-files/`), link);
      assert.equal((await request(link, ca)).status, 200);

      const plain = await fetch(server.url.replace('https:', 'http:') + '/healthz').then(
        (response) => response.status,
        () => 'refused',
      );
      assert.notEqual(plain, 200);
    } finally {
      server.process.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });

  test('SIGHUP picks up a renewed certificate for new connections; a broken renewal keeps the old one', OPTIONS, async () => {
    const live = makeCertificate('live');
    const renewed = makeCertificate('renewed');
    const ca = [await readFile(live.cert), await readFile(renewed.cert)];
    const server = await startTls({ EXTREPO_TLS_CERT: live.cert, EXTREPO_TLS_KEY: live.key }, ca);
    try {
      assert.equal((await request(`${server.url}/healthz`, ca)).servedBy, 'live');
      // Renewal as certbot-style tools do it: new files moved into place, then a reload signal.
      await rename(renewed.cert, live.cert);
      await rename(renewed.key, live.key);
      server.process.kill('SIGHUP');
      assert.ok(await waitFor(server, () => server.stdout().includes('TLS certificate reloaded')), server.stdout());
      assert.equal((await request(`${server.url}/healthz`, ca)).servedBy, 'renewed');

      await writeFile(live.cert, '-----BEGIN CERTIFICATE-----\nhalf written\n');
      server.process.kill('SIGHUP');
      assert.ok(await waitFor(server, () => server.stdout().includes('TLS certificate not reloaded')), server.stdout());
      const still = await request(`${server.url}/healthz`, ca);
      assert.equal(still.status, 200);
      assert.equal(still.servedBy, 'renewed');
    } finally {
      server.process.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });
});

describe('TLS settings that cannot work', () => {
  test("a key that is not the certificate's is refused at start, naming both settings", OPTIONS, async () => {
    const one = makeCertificate('one');
    const other = makeCertificate('other');
    const child = spawnChild({
      EXTREPO_PORT: String(await freePort()),
      EXTREPO_DATA_DIR: await mkdtemp(path.join(dir, 'data-')),
      EXTREPO_TLS_CERT: one.cert,
      EXTREPO_TLS_KEY: other.key,
    });
    assert.equal(await child.exited, 3);
    const lines = errorLines(child.stderr());
    assert.equal(lines.length, 1, child.stderr());
    assert.match(lines[0]!, /EXTREPO_TLS_CERT=.*one\.crt EXTREPO_TLS_KEY=.*other\.key: not a usable certificate and key/);
  });

  test('a missing file is named', OPTIONS, async () => {
    const one = makeCertificate('lonely');
    const child = spawnChild({
      EXTREPO_PORT: String(await freePort()),
      EXTREPO_DATA_DIR: await mkdtemp(path.join(dir, 'data-')),
      EXTREPO_TLS_CERT: path.join(dir, 'missing.crt'),
      EXTREPO_TLS_KEY: one.key,
    });
    assert.equal(await child.exited, 3);
    assert.match(child.stderr(), /^extrepo: cannot start: EXTREPO_TLS_CERT=.*missing\.crt: the file cannot be read \(ENOENT/m);
  });
});
