// extrepo-test-backends: each
// `extrepo push`: a zip or a folder (zipped on the fly, deterministically), checked locally with the
// server's rules before anything is sent, created + uploaded, and no orphan left when the upload
// fails; progress lines when stderr is not a terminal.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pluginDescriptor, pluginZip, zipOf } from './helpers/archives.js';
import { assertBuildIsFresh, CliHome } from './helpers/cli.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let server: TestServer;
let home: CliHome;
let tmp: string;

before(async () => {
  await assertBuildIsFresh();
  server = await startServer();
  home = await CliHome.create();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'extrepo-cli-push-'));
  const login = await home.run(['login', '--url', server.url, '--api-key', ADMIN_KEY]);
  assert.equal(login.code, 0, login.stderr);
});
after(async () => {
  await home.remove();
  await rm(tmp, { recursive: true, force: true });
  await server.close();
});

/** Writes files (name → content) under a new folder and returns its path. */
async function folder(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const root = path.join(tmp, name);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
  return root;
}

async function extensionCount(): Promise<number> {
  const response = await server.api('GET', '/api/v1/deployments/extensions');
  return response.body.extensions.length;
}

async function auditCount(action: string): Promise<number> {
  const response = await server.api('GET', `/api/v1/audit?action=${action}`);
  assert.equal(response.status, 200, response.text);
  return response.body.total;
}

async function pushJson(args: string[]): Promise<any> {
  const result = await home.run(['push', ...args, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

describe('push a zip', () => {
  test("a bundle zip is stored byte for byte: the stored sha256 is the file's", async () => {
    const zip = await zipOf({ 'dictionaries/synonyms.txt': 'laptop, notebook\n' });
    const file = path.join(tmp, 'synonyms.zip');
    await writeFile(file, zip);
    const extension = await pushJson([file, '--version', '8.*', '--description', 'Company synonyms']);
    assert.equal(extension.name, 'synonyms');
    assert.equal(extension.version, '8.*');
    assert.equal(extension.extension_type, 'bundle');
    assert.equal(extension.description, 'Company synonyms');
    assert.equal(extension.file_metadata.sha256, sha256(zip));
    assert.equal(extension.file_metadata.size, zip.length);
    const stored = await fetch(extension.file_metadata.url);
    assert.equal(sha256(Buffer.from(await stored.arrayBuffer())), sha256(zip));
  });

  test('a plugin zip takes its name, version and description from the descriptor', async () => {
    const file = path.join(tmp, 'plugin.zip');
    await writeFile(file, await pluginZip('8.11.1'));
    const extension = await pushJson([file]);
    assert.equal(extension.extension_type, 'plugin');
    assert.equal(extension.name, 'analysis-test');
    assert.equal(extension.version, '8.11.1');
    assert.equal(extension.description, 'An analysis plugin for tests');
  });
});

describe('push a folder', () => {
  test("the same folder gives the same sha256 twice, whatever the files' times and the time zone", async () => {
    const root = await folder('stable', {
      'dictionaries/synonyms.txt': 'laptop, notebook\n',
      'scripts/score.painless': 'return 1;\n',
      cacerts: randomBytes(4096),
    });
    const first = await pushJson([root]);
    await utimes(path.join(root, 'cacerts'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    const result = await home.run(['push', root, '--json'], { env: { TZ: 'Pacific/Kiritimati' } });
    assert.equal(result.code, 0, result.stderr);
    const second = JSON.parse(result.stdout);
    assert.notEqual(first.id, second.id);
    assert.equal(second.file_metadata.sha256, first.file_metadata.sha256);
    assert.equal(second.file_metadata.size, first.file_metadata.size);
  });

  test('a folder is stored as a zip of exactly its files', async () => {
    const root = await folder('content', { 'a.txt': 'A', 'sub/b.txt': 'B' });
    const extension = await pushJson([root]);
    const pulled = await home.run(['pull', extension.id, '--extract', path.join(tmp, 'content-back')]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const { readFile } = await import('node:fs/promises');
    assert.equal(await readFile(path.join(tmp, 'content-back', 'a.txt'), 'utf8'), 'A');
    assert.equal(await readFile(path.join(tmp, 'content-back', 'sub', 'b.txt'), 'utf8'), 'B');
  });

  test('a plugin folder becomes a plugin named and versioned by its descriptor', async () => {
    const root = await folder('plugin-folder', {
      'plugin-descriptor.properties': pluginDescriptor('8.12.2'),
      'analysis-test-1.0.0.jar': Buffer.alloc(1024, 1),
    });
    const extension = await pushJson([root]);
    assert.equal(extension.extension_type, 'plugin');
    assert.equal(extension.name, 'analysis-test');
    assert.equal(extension.version, '8.12.2');
  });

  test('--id replaces the file of an existing extension and keeps its id', async () => {
    const root = await folder('replace', { 'words.txt': 'one\n' });
    const created = await pushJson([root]);
    await writeFile(path.join(root, 'words.txt'), 'two\n');
    const replaced = await pushJson([root, '--id', created.id]);
    assert.equal(replaced.id, created.id);
    assert.notEqual(replaced.file_metadata.sha256, created.file_metadata.sha256);
  });

  test('a symbolic link in the folder is refused before anything is created (exit 1)', async () => {
    const root = await folder('with-link', { 'a.txt': 'A' });
    await symlink('/etc/passwd', path.join(root, 'passwd'));
    const before = await extensionCount();
    const result = await home.run(['push', root]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is a symbolic link/);
    assert.equal(await extensionCount(), before);
  });
});

/** What the server itself answers to these bytes (400 expected): the CLI must refuse them in the same words. */
async function serverRefusal(zip: Buffer, metadata: { version: string; extension_type: string }): Promise<{ code: string; message: string }> {
  const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'reference', ...metadata } });
  const refused = await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
    body: zip,
    headers: { 'content-type': 'application/zip' },
  });
  assert.equal(refused.status, 400);
  await server.api('DELETE', `/api/v1/deployments/extensions/${created.body.id}`);
  return refused.body.errors[0];
}

describe('local validation', () => {
  test("a bad plugin is refused locally with the server's code and wording, and nothing is created", async () => {
    const zip = await pluginZip('8.11.1', { 'java.version': null });
    const file = path.join(tmp, 'bad-plugin.zip');
    await writeFile(file, zip);

    const serverError = await serverRefusal(zip, { version: '8.11.1', extension_type: 'plugin' });

    const extensions = await extensionCount();
    const creates = await auditCount('create-extension');
    const result = await home.run(['push', file, '--version', '8.11.1']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim(), `extrepo: ${serverError.code}: ${serverError.message}`);
    assert.equal(await extensionCount(), extensions);
    assert.equal(await auditCount('create-extension'), creates, 'no create request reached the server');
  });

  test("a zip whose outline is sound but whose bytes are corrupt is refused in the server's words before its last byte, and the new extension is deleted", async () => {
    const zip = await zipOf({ 'geoip/data.mmdb': randomBytes(512 * 1024) }, { compress: false });
    // One byte of the stored data flipped: names, sizes and the central directory are intact, the CRC-32 is not.
    zip[100_000] = zip[100_000]! ^ 0xff;
    const file = path.join(tmp, 'corrupt.zip');
    await writeFile(file, zip);

    const serverError = await serverRefusal(zip, { version: '*', extension_type: 'bundle' });
    assert.match(serverError.message, /CRC/);

    const extensions = await extensionCount();
    const result = await home.run(['push', file, '--name', 'corrupt']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the new extension \d+ was deleted again/);
    assert.ok(result.stderr.trim().endsWith(`extrepo: ${serverError.code}: ${serverError.message}`), result.stderr);
    assert.equal(await extensionCount(), extensions);
  });

  test('a plugin whose version differs from its descriptor is refused locally', async () => {
    const root = await folder('mismatch', { 'plugin-descriptor.properties': pluginDescriptor('8.11.1'), 'x.jar': 'x' });
    const result = await home.run(['push', root, '--version', '8.12.0']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /extensions\.request_execution_failed: The file is not a valid plugin: .*elasticsearch\.version/);
  });

  test('a file that is not a zip is refused locally', async () => {
    const file = path.join(tmp, 'notes.zip');
    await writeFile(file, 'just text\n');
    const result = await home.run(['push', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^extrepo: extensions\.request_execution_failed: The file is not a valid bundle: /);
  });
});

describe('progress', () => {
  test('without a terminal, one line per 10 % on stderr, the last at 100 %; --quiet prints none', async () => {
    const root = await folder('big', { 'data.bin': randomBytes(6 * 1024 * 1024) });
    const result = await home.run(['push', root]);
    assert.equal(result.code, 0, result.stderr);
    const percents = [...result.stderr.matchAll(/^push big: (\d+)% \(\d+ of \d+ bytes, .*\/s\)$/gm)].map((match) => Number(match[1]));
    assert.ok(percents.length >= 2 && percents.length <= 10, `progress lines: ${percents.join(', ')}`);
    assert.equal(percents.at(-1), 100);
    assert.deepEqual(
      [...percents].sort((a, b) => a - b),
      percents,
      'increasing',
    );
    assert.ok(percents.every((percent) => percent % 10 === 0));

    const quiet = await home.run(['--quiet', 'push', root]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
  });
});

describe('a failed upload leaves no orphan', () => {
  let strict: TestServer;
  let strictHome: CliHome;
  before(async () => {
    strict = await startServer({ EXTREPO_MAX_FILE_BYTES: String(3 * 1024 * 1024), EXTREPO_MAX_UNCOMPRESSED_BYTES: String(1024 * 1024) });
    strictHome = await CliHome.create();
    const login = await strictHome.run(['login', '--url', strict.url, '--api-key', ADMIN_KEY]);
    assert.equal(login.code, 0, login.stderr);
  });
  after(async () => {
    await strictHome.remove();
    await strict.close();
  });

  async function assertNothingLeft(): Promise<void> {
    const list = await strict.api('GET', '/api/v1/deployments/extensions');
    assert.deepEqual(list.body.extensions, []);
    assert.deepEqual(
      (await strict.storedFiles()).filter((file) => file.startsWith('sha256')),
      [],
    );
  }

  test('refused half-way by the server (it inflates past its limit): exit 1, the new extension is deleted again', async () => {
    // 2 MiB that does not compress: within the file limit, over the server's (not the CLI's) inflate limit.
    const root = await folder('half-way', { 'random.bin': randomBytes(2 * 1024 * 1024) });
    const result = await strictHome.run(['push', root]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /extrepo: (extensions\.request_execution_failed: .*inflate|.*connection .* was closed)/);
    assert.match(result.stderr, /the new extension \d+ was deleted again/);
    await assertNothingLeft();
  });

  test("over the server's size limit: 413 with its code and message, exit 1, nothing left", async () => {
    const file = path.join(tmp, 'too-big.zip');
    await writeFile(file, await zipOf({ 'random.bin': randomBytes(4 * 1024 * 1024) }, { compress: false }));
    const result = await strictHome.run(['push', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /extrepo: (root\.payload_too_large: .*EXTREPO_MAX_FILE_BYTES|.*connection .* was closed)/);
    await assertNothingLeft();
  });
});
