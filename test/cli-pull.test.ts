// extrepo-test-backends: each
// `extrepo pull`: through the signed link, size and sha256 checked, nothing kept on a mismatch;
// --extract unpacks only inside DIR and refuses hostile archives; Ctrl-C removes partial files.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { zipOf } from './helpers/archives.js';
import { assertBuildIsFresh, CliHome, collect, waitForStderr } from './helpers/cli.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';
import { TamperingOrigin } from './helpers/tampering-origin.js';
import { rawZip, yazlZip } from './helpers/zip-fixtures.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let origin: TamperingOrigin;
let server: TestServer;
let home: CliHome;
let tmp: string;
let bundle: Buffer;
let bundleId: string;

before(async () => {
  await assertBuildIsFresh();
  origin = await TamperingOrigin.start();
  // The file links point at the origin, and the CLI talks to the server through it.
  server = await startServer({ EXTREPO_PUBLIC_URL: origin.url });
  origin.target = server.url;
  home = await CliHome.create();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'extrepo-cli-pull-'));
  const login = await home.run(['login', '--url', origin.url, '--api-key', ADMIN_KEY]);
  assert.equal(login.code, 0, login.stderr);
  bundle = await zipOf({ 'dictionaries/synonyms.txt': 'laptop, notebook\n', 'big.bin': randomBytes(2 * 1024 * 1024) }, { compress: false });
  await writeFile(path.join(tmp, 'bundle.zip'), bundle);
  const pushed = await home.run(['push', path.join(tmp, 'bundle.zip'), '--json']);
  assert.equal(pushed.code, 0, pushed.stderr);
  bundleId = JSON.parse(pushed.stdout).id;
});
beforeEach(() => {
  origin.mode = { kind: 'pass' };
});
after(async () => {
  await home.remove();
  await rm(tmp, { recursive: true, force: true });
  await server.close();
  await origin.close();
});

async function dirFresh(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('pull with verification', () => {
  test('-o writes the exact bytes, checked against the recorded size and sha256', async () => {
    const out = path.join(await dirFresh('ok'), 'copy.zip');
    const result = await home.run(['pull', bundleId, '-o', out, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.sha256, sha256(bundle));
    assert.equal(report.size, bundle.length);
    assert.equal(sha256(await readFile(out)), sha256(bundle));
  });

  test('without -o the file is <name>.zip in the current directory', async () => {
    const dir = await dirFresh('default-name');
    const result = await home.run(['pull', bundleId], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readdir(dir), ['bundle.zip']);
  });

  test('a tampered download (one byte changed) fails verification, exit 1, and nothing is left', async () => {
    origin.mode = { kind: 'flip-byte' };
    const dir = await dirFresh('tampered');
    const result = await home.run(['pull', bundleId, '-o', path.join(dir, 'copy.zip')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /failed verification \(sha256 is [0-9a-f]{64}, the server recorded [0-9a-f]{64}\); nothing was kept/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a chunked download (no Content-Length, as some proxies send it) is verified and kept the same', async () => {
    origin.mode = { kind: 'chunked-file' };
    const dir = await dirFresh('chunked');
    const result = await home.run(['pull', bundleId, '-o', path.join(dir, 'copy.zip')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readFile(path.join(dir, 'copy.zip')), bundle);
  });

  test("a link the server refuses prints the server's code and message, exit 1, and nothing is left", async () => {
    origin.mode = { kind: 'break-signature' };
    const dir = await dirFresh('refused-link');
    const result = await home.run(['pull', bundleId, '-o', path.join(dir, 'copy.zip')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^extrepo: root\.forbidden: This file link is not valid/m);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a tampered download is not extracted either', async () => {
    origin.mode = { kind: 'flip-byte' };
    const dir = await dirFresh('tampered-extract');
    const result = await home.run(['pull', bundleId, '--extract', dir]);
    assert.equal(result.code, 1);
    assert.deepEqual(await readdir(dir), []);
  });

  test('an extension without a file says how to upload one (exit 1)', async () => {
    const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'empty', version: '*', extension_type: 'bundle' } });
    const result = await home.run(['pull', created.body.id]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /has no file yet; upload one with `extrepo push PATH --id \d+`/);
  });

  test("an unknown id prints the server's code and message (exit 1)", async () => {
    const result = await home.run(['pull', '9999999999']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim(), 'extrepo: extensions.not_found: Extension [9999999999] not found.');
  });
});

describe('safe extract', () => {
  test('--extract unpacks the bundle into DIR', async () => {
    const dir = await dirFresh('config');
    const result = await home.run(['pull', bundleId, '--extract', dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(path.join(dir, 'dictionaries', 'synonyms.txt'), 'utf8'), 'laptop, notebook\n');
  });

  test('an existing symbolic link in DIR is never followed', async () => {
    const dir = await dirFresh('config-with-link');
    const elsewhere = await dirFresh('elsewhere');
    await symlink(elsewhere, path.join(dir, 'dictionaries'));
    const result = await home.run(['pull', bundleId, '--extract', dir]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /refusing to extract through .*dictionaries: it is a symbolic link/);
    assert.deepEqual(await readdir(elsewhere), []);
    assert.deepEqual((await readdir(dir)).sort(), ['dictionaries'], 'what this run wrote was removed');
  });

  // A server (or mirror) that lies: the archive and its recorded size and sha256 are its choice, so
  // only the extraction rules stand between it and the disk.
  const hostile: Array<[string, () => Promise<Buffer>, RegExp]> = [
    ['an entry with ..', async () => rawZip([{ name: '../escaped.txt', data: Buffer.from('x') }]), /zip_slip|\.\.|outside/i],
    ['an absolute path', async () => rawZip([{ name: '/tmp/escaped.txt', data: Buffer.from('x') }]), /absolute|outside/i],
    ['a symlink entry', async () => yazlZip([{ name: 'link', data: '/etc/passwd', mode: 0o120777 }]), /link/i],
  ];
  for (const [what, build, message] of hostile) {
    test(`a hostile zip (${what}) is refused and nothing is written`, async () => {
      origin.mode = { kind: 'serve-instead', body: await build() };
      const dir = await dirFresh(`hostile-${what.replace(/\W+/g, '-')}`);
      const result = await home.run(['pull', bundleId, '--extract', path.join(dir, 'config')]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, message);
      assert.deepEqual(await readdir(dir).catch(() => []), []);
      assert.deepEqual(await readdir(tmp).then((names) => names.filter((name) => name.includes('escaped'))), []);
    });
  }
});

describe('Ctrl-C', () => {
  test('stops a download and removes the partial file (exit 130)', async () => {
    origin.mode = { kind: 'stall-file' };
    const dir = await dirFresh('interrupted');
    const child = home.spawn(['pull', bundleId, '-o', path.join(dir, 'copy.zip')]);
    const done = collect(child);
    await waitForStderr(child, /pull copy\.zip: [1-9]0%/);
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /interrupted/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('stops an upload and deletes the extension it had created (exit 130)', async () => {
    origin.mode = { kind: 'hold-upload' };
    const before = (await server.api('GET', '/api/v1/deployments/extensions')).body.extensions.length;
    const child = home.spawn(['push', path.join(tmp, 'bundle.zip'), '--name', 'held']);
    const done = collect(child);
    await waitForStderr(child, /push bundle\.zip: 90%/);
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    const names = (await server.api('GET', '/api/v1/deployments/extensions')).body.extensions.map((e: { name: string }) => e.name);
    assert.ok(!names.includes('held'), 'the created extension was deleted');
    assert.equal(names.length, before);
  });
});
