// extrepo-test-backends: own
// kill -9 of an instance in the middle of an upload or of a download_url copy, over PostgreSQL + S3:
// nothing committed is lost, no partial state is visible from the surviving instance, the killed
// instance's locks do not block anyone, and the garbage collector removes what it left behind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { bundleZip, zipOf } from './helpers/archives.js';
import { bucketView, type BucketView } from './helpers/bucket.js';
import { startInstance, type Instance } from './helpers/instance.js';
import { ADMIN_KEY, freshSharedStorage, type SharedStorage } from './helpers/server.js';

const run = promisify(execFile);
const MiB = 1024 ** 2;
const EXT = '/api/v1/deployments/extensions';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let storage: SharedStorage;
let bucket: BucketView;
let env: Record<string, string>;
let survivor: Instance;
let big: Buffer;
const doomed: Instance[] = [];

before(async () => {
  storage = await freshSharedStorage();
  bucket = bucketView(storage.env);
  env = { ...storage.env, EXTREPO_ADMIN_API_KEY: ADMIN_KEY, EXTREPO_DOWNLOAD_ALLOW_HOSTS: '127.0.0.1' };
  survivor = await startInstance(env);
  // 64 MiB that is a valid bundle all the way, so only the kill stops it.
  big = await zipOf({ 'big.bin': randomBytes(64 * MiB) }, { compress: false });
});

after(async () => {
  await Promise.allSettled([survivor?.stop(), ...doomed.map((instance) => instance.kill())]);
  bucket?.close();
  await storage?.release();
});

async function call(instance: Instance, method: string, path: string, init: { json?: unknown; body?: Buffer } = {}) {
  const headers: Record<string, string> = { authorization: `ApiKey ${ADMIN_KEY}` };
  let body: BodyInit | undefined = init.body as BodyInit | undefined;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  } else if (init.body !== undefined) {
    headers['content-type'] = 'application/zip';
  }
  const response = await fetch(instance.url + path, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
}

async function startDoomed(): Promise<Instance> {
  const instance = await startInstance(env);
  doomed.push(instance);
  return instance;
}

/** Writes `data` slowly as the body of `request`, calling `onProgress` with the bytes sent so far. */
async function trickle(write: (chunk: Buffer) => boolean, data: Buffer, onProgress: (sent: number) => Promise<boolean>): Promise<void> {
  for (let sent = 0; sent < data.length; sent += MiB) {
    write(data.subarray(sent, sent + MiB));
    await delay(15);
    if (await onProgress(sent + MiB)) return;
  }
}

async function committedKeys(): Promise<string[]> {
  return (await bucket.keys()).filter((key) => key.startsWith('sha256/'));
}

describe('kill -9 in the middle of a transfer', () => {
  test('an upload: the extension keeps its previous file, nothing partial is visible, others are not blocked', async () => {
    const first = await bundleZip('the committed file\n');
    const created = await call(survivor, 'POST', EXT, { json: { name: 'crash-upload', version: '*', extension_type: 'bundle' } });
    const id = created.body.id as string;
    assert.equal((await call(survivor, 'PUT', `${EXT}/${id}`, { body: first })).status, 200);
    const before = await committedKeys();

    const victim = await startDoomed();
    const request = http.request(`${victim.url}${EXT}/${id}`, {
      method: 'PUT',
      headers: { authorization: `ApiKey ${ADMIN_KEY}`, 'content-type': 'application/zip', 'content-length': String(big.length) },
    });
    const outcome = new Promise<string>((resolve) => {
      request.on('response', (response) => resolve(`answered ${response.statusCode}`));
      request.on('error', (error) => resolve(`failed: ${error.message}`));
    });
    await trickle(
      (chunk) => request.write(chunk),
      big,
      async (sent) => {
        if (sent < 24 * MiB) return false;
        await victim.kill(); // several parts of a multipart upload are in the bucket by now
        return true;
      },
    );
    assert.match(await outcome, /^failed/);

    const read = await call(survivor, 'GET', `${EXT}/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.file_metadata.sha256, sha256(first));
    const download = await fetch(read.body.file_metadata.url);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), first);
    assert.deepEqual(await committedKeys(), before);

    // The killed instance's database session (and any lock it held) is gone: the same extension
    // and the same bytes go through on the survivor.
    const retried = await call(survivor, 'PUT', `${EXT}/${id}`, { body: big });
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.body.file_metadata.sha256, sha256(big));
    // The first file stays as the extension's file version 1.
    assert.deepEqual(await committedKeys(), [`sha256/${sha256(big)}`, ...before].sort());
  });

  test('a download_url copy: no extension appears, nothing partial is visible', async () => {
    let servedBytes = 0;
    let release!: () => void;
    const killed = new Promise<void>((resolve) => (release = resolve));
    const origin = http.createServer(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(big.length) });
      for (let offset = 0; offset < big.length; offset += MiB) {
        if (!response.write(big.subarray(offset, offset + MiB))) await new Promise((resolve) => response.once('drain', resolve));
        servedBytes = offset + MiB;
        await delay(15);
        if (response.destroyed) return;
      }
      response.end();
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    try {
      const listedBefore = (await call(survivor, 'GET', EXT)).body.extensions.length as number;
      const keysBefore = await committedKeys();
      const victim = await startDoomed();
      const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/big.zip`;
      const creating = call(victim, 'POST', EXT, {
        json: { name: 'crash-copy', version: '*', extension_type: 'bundle', download_url: url },
      }).then(
        (response) => `answered ${response.status}`,
        (error: Error) => `failed: ${error.message}`,
      );
      void (async () => {
        while (servedBytes < 24 * MiB) await delay(10);
        await victim.kill();
        release();
      })();
      await killed;
      assert.match(await creating, /^failed/);
      const listed = (await call(survivor, 'GET', EXT)).body.extensions as Array<{ name: string }>;
      assert.equal(listed.length, listedBefore);
      assert.ok(!listed.some((extension) => extension.name === 'crash-copy'));
      assert.deepEqual(await committedKeys(), keysBefore);
    } finally {
      origin.closeAllConnections();
      origin.close();
    }
  });

  test('the garbage collector removes what a killed instance left behind, and only that', async () => {
    // What a kill leaves in the worst case: a finished temp object not yet committed, and a blob
    // committed whose reference was never stored.
    const orphan = randomBytes(1000);
    await bucket.put(`incoming/${randomUUID()}`, randomBytes(1000));
    await bucket.put(`sha256/${sha256(orphan)}`, orphan);
    const referenced = await committedKeys();
    const gc = (grace: string) =>
      run(process.execPath, ['--no-warnings', '--import', 'tsx', 'src/tools/gc.ts'], {
        env: { PATH: process.env.PATH ?? '', ...env, EXTREPO_GC_GRACE_SECONDS: grace, EXTREPO_LOG_LEVEL: 'warn' },
      });

    // With the default grace period the young temp object may still be an upload in progress.
    const first = JSON.parse((await gc('86400')).stdout) as { swept: number; collected: number };
    assert.equal(first.collected, 1);
    assert.equal((await bucket.keys()).filter((key) => key.startsWith('incoming/')).length, 1);
    assert.ok(!(await bucket.keys()).includes(`sha256/${sha256(orphan)}`));

    const second = JSON.parse((await gc('0')).stdout) as { swept: number; collected: number };
    assert.ok(second.swept >= 1);
    assert.deepEqual(
      await bucket.keys(),
      referenced.filter((key) => key !== `sha256/${sha256(orphan)}`),
    );
    // Everything still referenced is still served.
    for (const extension of (await call(survivor, 'GET', EXT)).body.extensions as Array<{ file_metadata?: { url: string; size: number } }>) {
      if (!extension.file_metadata) continue;
      const response = await fetch(extension.file_metadata.url);
      assert.equal(response.status, 200);
      assert.equal((await response.arrayBuffer()).byteLength, extension.file_metadata.size);
    }
  });
});
