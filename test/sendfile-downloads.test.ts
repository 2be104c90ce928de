// extrepo-test-backends: each
// Downloads by sendfile(2): src/http/file-body.ts with the project's addon (src/native/sendfile.c),
// over real sockets. The kernel writes straight to the connection, so what matters is that every
// byte arrives once and in order: after the head from Node's socket, when the
// connection is full (a slow reader), across ranges, when the client leaves, and that TLS
// connections and EXTREPO_SENDFILE=false are copied instead.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config.js';
import type { BodyMeter } from '../src/http/body-meter.js';
import { ResponseClosedError, sendFileBody, SENDFILE_MIN_BYTES } from '../src/http/file-body.js';
import { loadSendfile, type SendFile } from '../src/http/sendfile.js';
import { zipOf } from './helpers/archives.js';
import { startServer } from './helpers/server.js';

const MiB = 1024 * 1024;
const EAGAIN = constants.errno.EAGAIN;

const loaded = loadSendfile();
const addon = 'send' in loaded ? loaded.send : null;

interface Served {
  meter: BodyMeter;
  /** Settles when sendFileBody does: undefined, or its error. */
  outcome: Promise<Error | undefined>;
  fileClosed: () => boolean;
}

/** An HTTP(S) server that answers every GET with bytes [start, start + length) of `file` through sendFileBody. */
async function fileServer(
  file: string,
  send: SendFile | null,
  range: (size: number) => { start: number; length: number },
  tls?: { cert: string; key: string },
): Promise<{ url: string; served: Served[]; close(): Promise<void> }> {
  const size = readFileSync(file).length;
  const served: Served[] = [];
  const handler = (_request: http.IncomingMessage, res: http.ServerResponse) => {
    const { start, length } = range(size);
    const fd = openSync(file, 'r');
    let closed = false;
    const blob = {
      fd,
      close() {
        if (closed) return;
        closed = true;
        closeSync(fd);
      },
    };
    const meter: BodyMeter = { bytes: 0, expected: length };
    res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(length) });
    const outcome = sendFileBody(res, blob, start, length, meter, send).then(
      () => undefined,
      (error: Error) => {
        res.destroy();
        return error;
      },
    );
    served.push({ meter, outcome, fileClosed: () => closed });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/file`,
    served,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The real addon, with every call and its result recorded. */
function recording(send: SendFile): { send: SendFile; calls: Array<[number, number, number]> } {
  const calls: Array<[number, number, number]> = [];
  return {
    calls,
    send: async (socketFd, fileFd, offset, count) => {
      const result = await send(socketFd, fileFd, offset, count);
      calls.push(result);
      return result;
    },
  };
}

/** GETs `url`, pausing the body for `pauseMs` first; resolves the body's sha256 and length. */
function fetchBody(url: string, options: { pauseMs?: number; ca?: Buffer } = {}): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const request = get(url, { ca: options.ca }, (response) => {
      const hash = createHash('sha256');
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      response.on('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
      response.on('error', reject);
      if (options.pauseMs) {
        response.pause();
        setTimeout(() => response.resume(), options.pauseMs);
      }
    });
    request.on('error', reject);
  });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('downloads by sendfile', { skip: process.platform !== 'linux' && 'sendfile is used on Linux only' }, () => {
  let dir: string;
  let file: string;
  let content: Buffer;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'extrepo-sendfile-'));
    file = path.join(dir, 'blob');
    content = randomBytes(24 * MiB + 12_345);
    writeFileSync(file, content);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the addon is built by npm ci and loads', () => {
    assert.ok(addon, 'unavailable' in loaded ? loaded.unavailable : '');
  });

  test('a whole file leaves by sendfile after its head, every byte once and in order', async () => {
    const recorded = recording(addon!);
    const server = await fileServer(file, recorded.send, (size) => ({ start: 0, length: size }));
    try {
      const got = await fetchBody(server.url);
      assert.deepEqual(got, { sha256: sha256(content), bytes: content.length });
      const [served] = server.served;
      assert.equal(await served!.outcome, undefined);
      assert.equal(served!.meter.bytes, content.length);
      const bySendfile = recorded.calls.reduce((sum, [sent]) => sum + sent, 0);
      assert.ok(bySendfile >= content.length - 64 * 1024 - recorded.calls.length, `only ${bySendfile} bytes by sendfile`);
      await waitFor(() => served!.fileClosed());
    } finally {
      await server.close();
    }
  });

  test('ranges that start and end anywhere give exactly their bytes; a short one is copied', async () => {
    for (const [start, length, bySendfile] of [
      [1, 5 * MiB + 3, true],
      [7 * MiB - 1, 17 * MiB, true],
      [123, SENDFILE_MIN_BYTES - 1, false],
    ] as const) {
      const recorded = recording(addon!);
      const server = await fileServer(file, recorded.send, () => ({ start, length }));
      try {
        const got = await fetchBody(server.url);
        assert.deepEqual(got, { sha256: sha256(content.subarray(start, start + length)), bytes: length });
        assert.equal(await server.served[0]!.outcome, undefined);
        assert.equal(recorded.calls.length > 0, bySendfile, `range ${start}+${length}`);
      } finally {
        await server.close();
      }
    }
  });

  test('a reader slower than the server: the connection fills, sendfile waits for it, and nothing is lost', async () => {
    const recorded = recording(addon!);
    const server = await fileServer(file, recorded.send, (size) => ({ start: 0, length: size }));
    try {
      const got = await fetchBody(server.url, { pauseMs: 300 });
      assert.deepEqual(got, { sha256: sha256(content), bytes: content.length });
      assert.ok(
        recorded.calls.some(([, errno]) => errno === EAGAIN),
        'the send buffer never filled',
      );
      assert.equal(await server.served[0]!.outcome, undefined);
    } finally {
      await server.close();
    }
  });

  for (const way of ['sendfile', 'copied'] as const) {
    test(`a client that leaves mid-download (${way}): the send stops as "client closed" and the file is closed`, async () => {
      // A write pending when the connection goes fails with ECANCELED on Node 22, before the close event.
      const server = await fileServer(file, way === 'sendfile' ? addon : null, (size) => ({ start: 0, length: size }));
      try {
        await new Promise<void>((resolve, reject) => {
          const request = http.get(server.url, (response) => {
            response.pause();
            setTimeout(() => {
              request.destroy();
              resolve();
            }, 200);
          });
          request.on('error', (error) => (request.destroyed ? resolve() : reject(error)));
        });
        const [served] = server.served;
        const outcome = await served!.outcome;
        assert.ok(outcome instanceof ResponseClosedError, String(outcome));
        assert.ok(served!.meter.bytes < content.length);
        await waitFor(() => served!.fileClosed());
        // The server goes on serving.
        assert.equal((await fetchBody(server.url)).sha256, sha256(content));
      } finally {
        await server.close();
      }
    });
  }

  test('a blob file shorter than its range: the send fails as "ended early", never as a whole body', async () => {
    const short = path.join(dir, 'short');
    writeFileSync(short, content.subarray(0, 4 * MiB));
    const server = await fileServer(short, addon, () => ({ start: 0, length: 8 * MiB }));
    try {
      await assert.rejects(fetchBody(server.url));
      const error = await server.served[0]!.outcome;
      assert.match(String(error), /ended early/);
    } finally {
      await server.close();
    }
  });

  test('over TLS the file is copied: sendfile never writes to a TLS connection', async () => {
    const cert = path.join(dir, 'tls.crt');
    const key = path.join(dir, 'tls.key');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1'].concat([
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]),
      { stdio: 'ignore' },
    );
    const recorded = recording(addon!);
    const tls = { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
    const server = await fileServer(file, recorded.send, (size) => ({ start: 0, length: size }), tls);
    try {
      const got = await fetchBody(server.url, { ca: readFileSync(cert) });
      assert.deepEqual(got, { sha256: sha256(content), bytes: content.length });
      assert.equal(recorded.calls.length, 0);
    } finally {
      await server.close();
    }
  });
});

describe('EXTREPO_SENDFILE', () => {
  test('defaults to true and takes true or false only', () => {
    const base = { EXTREPO_DATA_DIR: '/tmp/unused', EXTREPO_ADMIN_API_KEY: 'a-key-of-sixteen-chars' };
    assert.equal(loadConfig(base).sendfile, true);
    assert.equal(loadConfig({ ...base, EXTREPO_SENDFILE: 'false' }).sendfile, false);
    assert.throws(() => loadConfig({ ...base, EXTREPO_SENDFILE: 'sometimes' }), /EXTREPO_SENDFILE/);
  });

  for (const setting of ['true', 'false']) {
    test(`=${setting}: a several-MiB file and a range of it download exactly through the server`, async () => {
      const server = await startServer({ EXTREPO_SENDFILE: setting });
      try {
        const created = await server.api('POST', '/api/v1/deployments/extensions', {
          json: { name: 'sent', version: '*', extension_type: 'bundle' },
        });
        const zip = await zipOf({ 'data.bin': randomBytes(6 * MiB + 77) }, { compress: false });
        const uploaded = await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
          body: zip,
          headers: { 'content-type': 'application/zip' },
        });
        const url = uploaded.body.file_metadata.url as string;
        assert.deepEqual(await fetchBody(url), { sha256: sha256(zip), bytes: zip.length });
        const ranged = await fetch(url, { headers: { range: `bytes=${MiB + 1}-${5 * MiB}` } });
        assert.equal(ranged.status, 206);
        assert.equal(sha256(Buffer.from(await ranged.arrayBuffer())), sha256(zip.subarray(MiB + 1, 5 * MiB + 1)));
      } finally {
        await server.close();
      }
    });
  }
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(10);
  assert.ok(condition(), 'not within 2 s');
}
