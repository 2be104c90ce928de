// extrepo-test-backends: own
// A full disk (issue 9.5), for real: an extrepo process whose data directory is a small tmpfs
// (mounting needs root, as CI runs; elsewhere the test is skipped and says why). With the disk
// full, uploads, creates and sign-ins answer 507 root.insufficient_storage (never 500), /readyz says
// storage is full, a lost audit record is logged; once space returns, everything works again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { zipOf } from './helpers/archives.js';
import { startInstance } from './helpers/instance.js';

const run = promisify(execFile);
const KEY = 'disk-full-test-key-0123456789abcdef';
const ADMIN_PASSWORD = 'Disk-full-password-0123';

async function mountTmpfs(sizeBytes: number): Promise<{ dir: string; unmount: () => Promise<void> } | string> {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-full-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  } catch (error) {
    await rmdir(dir);
    return `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}`;
  }
  return {
    dir,
    unmount: async () => {
      await run('umount', ['-l', dir]);
      await rmdir(dir);
    },
  };
}

/** Writes a file until the file system has no byte left. */
async function fill(file: string): Promise<void> {
  const handle = await open(file, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) await handle.write(block);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    for (let size = 4096; ;) {
      try {
        await handle.write(block.subarray(0, size));
      } catch {
        if (size === 1) break;
        size = Math.max(1, size >> 1);
      }
    }
  } finally {
    await handle.close();
  }
}

test('a full data directory answers 507, /readyz tells, and everything recovers when space returns', async (t) => {
  const mounted = await mountTmpfs(16 * 1024 * 1024);
  if (typeof mounted === 'string') {
    t.skip(mounted);
    return;
  }
  const instance = await startInstance({ EXTREPO_DATA_DIR: mounted.dir, EXTREPO_ADMIN_API_KEY: KEY, EXTREPO_ADMIN_PASSWORD: ADMIN_PASSWORD });
  try {
    const call = async (method: string, apiPath: string, body?: Buffer | string, type = 'application/json') => {
      const response = await fetch(instance.url + apiPath, {
        method,
        headers: { authorization: `ApiKey ${KEY}`, ...(body === undefined ? {} : { 'content-type': type }) },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : new Uint8Array(body) }),
      });
      const text = await response.text();
      return { status: response.status, code: response.headers.get('x-cloud-error-codes'), text };
    };
    const createJson = () => JSON.stringify({ name: 'full', version: '*', extension_type: 'bundle', description: 'd'.repeat(4000) });
    const created = await call('POST', '/api/v1/deployments/extensions', createJson());
    assert.equal(created.status, 201, created.text);
    const id = JSON.parse(created.text).id as string;
    const zip = await zipOf({ 'data.bin': randomBytes(256 * 1024) }, { compress: false });
    assert.equal((await call('GET', '/readyz')).status, 200);

    const filler = path.join(mounted.dir, 'filler');
    await fill(filler);

    const upload = await call('PUT', `/api/v1/deployments/extensions/${id}`, zip, 'application/zip');
    assert.equal(upload.status, 507, upload.text);
    assert.equal(upload.code, 'root.insufficient_storage');
    assert.match(JSON.parse(upload.text).errors[0].message, /storage is full/i);

    // SQLite runs out too, sooner or later: never a 500.
    const creates = [];
    for (let i = 0; i < 100; i++) {
      const answer = await call('POST', '/api/v1/deployments/extensions', createJson());
      creates.push(answer.status);
      if (answer.status !== 201) {
        assert.equal(answer.status, 507, answer.text);
        assert.equal(answer.code, 'root.insufficient_storage');
        break;
      }
    }
    assert.ok(creates.includes(507), `creates answered ${creates.join(',')}`);
    const login = await fetch(`${instance.url}/api/v1/users/auth/_login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    assert.ok([200, 507].includes(login.status), `login answered ${login.status}`);

    const ready = await call('GET', '/readyz');
    assert.equal(ready.status, 503, ready.text);
    assert.match(JSON.parse(ready.text).errors[0].message, /storage is full/i);
    assert.match(instance.output(), /audit record not written/);

    await rm(filler);
    assert.equal((await call('GET', '/readyz')).status, 200);
    const retried = await call('PUT', `/api/v1/deployments/extensions/${id}`, zip, 'application/zip');
    assert.equal(retried.status, 200, retried.text);
    assert.equal((await call('POST', '/api/v1/deployments/extensions', createJson())).status, 201);
    const served = await call('GET', `/api/v1/deployments/extensions/${id}`);
    assert.equal(JSON.parse(served.text).file_metadata.size, zip.length);
  } finally {
    await instance.stop();
    await mounted.unmount();
  }
});
