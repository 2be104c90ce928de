// extrepo-test-backends: own
// A start that cannot succeed says why in one line that names the setting and what to do, without a
// stack trace, and exits with a code that tells a supervisor whether retrying can help
// (2: the configuration, 3: something a setting names). The real entry point, real sockets, real
// PostgreSQL and S3.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { errorLines, freePort, spawnChild, startEntryPoint } from './helpers/entry-point.js';
import { freshSharedStorage, type SharedStorage } from './helpers/server.js';

const OPTIONS = { timeout: 120_000 };
let scratch: string;
before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'extrepo-startup-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function freshDataDir(): Promise<string> {
  return mkdtemp(path.join(scratch, 'data-'));
}

/** Starts the entry point, expects it to exit, and returns the exit code and its one error line. */
async function failedStart(env: Record<string, string>): Promise<{ code: number | string; line: string; stdout: string; stderr: string }> {
  const child = spawnChild({ EXTREPO_PORT: String(await freePort()), ...env });
  const code = await child.exited;
  const lines = errorLines(child.stderr());
  assert.equal(lines.length, 1, `exactly one error line, got:\n${child.stderr()}`);
  assert.doesNotMatch(child.stderr(), /^\s+at /m, 'no stack trace');
  return { code, line: lines[0]!, stdout: child.stdout(), stderr: child.stderr() };
}

describe('the port', () => {
  test('in use: names EXTREPO_PORT, exits 3, and creates no admin whose password would be lost', OPTIONS, async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const dataDir = await freshDataDir();
    try {
      const failed = await failedStart({ EXTREPO_DATA_DIR: dataDir, EXTREPO_PORT: String(port) });
      assert.equal(failed.code, 3);
      assert.match(
        failed.line,
        new RegExp(`^extrepo: cannot start: EXTREPO_HOST=127.0.0.1 EXTREPO_PORT=${port}: the port is already in use.*choose another EXTREPO_PORT$`),
      );
      assert.doesNotMatch(failed.stdout, /created the built-in user/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    // The next start, on a free port, is the first real one: it creates the admin and shows the password.
    const started = await startEntryPoint({ EXTREPO_DATA_DIR: dataDir });
    assert.match(started.stdout(), /created the built-in user "admin"[^\n]*\n\n\s+\S+/);
    started.process.kill('SIGTERM');
    assert.equal(await started.exited, 0);
  });

  test("on an address that is not this machine's: names EXTREPO_HOST", OPTIONS, async () => {
    const failed = await failedStart({ EXTREPO_DATA_DIR: await freshDataDir(), EXTREPO_HOST: '192.0.2.1' });
    assert.equal(failed.code, 3);
    assert.match(failed.line, /EXTREPO_HOST=192\.0\.2\.1 .*not an address of this machine: set EXTREPO_HOST/);
  });
});

describe('the data dir', () => {
  test('one that cannot exist (/proc/nope) fails at once, naming EXTREPO_DATA_DIR', OPTIONS, async () => {
    const failed = await failedStart({ EXTREPO_DATA_DIR: '/proc/nope' });
    assert.equal(failed.code, 3);
    assert.match(failed.line, /^extrepo: cannot start: EXTREPO_DATA_DIR=\/proc\/nope: the directory cannot be created .*choose a directory/);
  });

  test('a file instead of a directory, or a path through a file, names EXTREPO_DATA_DIR', OPTIONS, async () => {
    const file = path.join(scratch, 'a-file');
    await writeFile(file, 'not a directory');
    const isFile = await failedStart({ EXTREPO_DATA_DIR: file });
    assert.equal(isFile.code, 3);
    assert.match(isFile.line, /EXTREPO_DATA_DIR=.*a-file: this is a file, not a directory/);
    const through = await failedStart({ EXTREPO_DATA_DIR: path.join(file, 'data') });
    assert.equal(through.code, 3);
    assert.match(through.line, /EXTREPO_DATA_DIR=.*a-file\/data: the directory cannot be created \(ENOTDIR/);
  });

  test('a missing one is created, parents included', OPTIONS, async () => {
    const started = await startEntryPoint({
      EXTREPO_DATA_DIR: path.join(scratch, 'new', 'nested', 'data'),
      EXTREPO_ADMIN_PASSWORD: 'a fine password',
    });
    started.process.kill('SIGTERM');
    assert.equal(await started.exited, 0);
  });
});

describe('the configuration', () => {
  test('an invalid value exits 2 with one line naming it', OPTIONS, async () => {
    const failed = await failedStart({ EXTREPO_MAX_FILE_BYTES: 'lots' });
    assert.equal(failed.code, 2);
    assert.match(failed.line, /^extrepo: cannot start: invalid configuration: EXTREPO_MAX_FILE_BYTES must be a size/);
  });

  test('PostgreSQL without S3 is refused with the reason and the way to ask for it', OPTIONS, async () => {
    const failed = await failedStart({ EXTREPO_DATABASE_URL: 'postgres://extrepo@127.0.0.1:1/extrepo' });
    assert.equal(failed.code, 2);
    assert.match(failed.line, /EXTREPO_DATABASE_URL is set but EXTREPO_S3_BUCKET is not: .*EXTREPO_ALLOW_MIXED_STORES=true/);
  });

  test('an unknown EXTREPO_* variable is warned about, naming the closest setting, and the start goes on', OPTIONS, async () => {
    const started = await startEntryPoint({
      EXTREPO_DATA_DIR: await freshDataDir(),
      EXTREPO_ADMIN_PASSWORD: 'a fine password',
      EXTREPO_PORTS: '8080',
    });
    started.process.kill('SIGTERM');
    assert.equal(await started.exited, 0);
    const warning = started
      .stdout()
      .split('\n')
      .find((line) => line.includes('EXTREPO_PORTS'));
    assert.ok(warning, started.stdout());
    assert.equal(JSON.parse(warning).msg, 'EXTREPO_PORTS is not an extrepo setting and is ignored: did you mean EXTREPO_PORT?');
  });

  test('the warning is also printed when the start then fails', OPTIONS, async () => {
    const child = spawnChild({ EXTREPO_DATA_DIR: '/proc/nope', EXTREPO_LINK_TTL: '60' });
    assert.equal(await child.exited, 3);
    assert.match(
      child.stderr(),
      /^extrepo: warning: EXTREPO_LINK_TTL is not an extrepo setting and is ignored: did you mean EXTREPO_LINK_TTL_SECONDS\?$/m,
    );
  });
});

describe('the database and the bucket', () => {
  let storage: SharedStorage;
  before(async () => {
    storage = await freshSharedStorage();
  });
  after(async () => {
    await storage.release();
  });

  const withDatabase = (change: (url: URL) => void, extra: Record<string, string> = {}) => {
    const url = new URL(storage.env.EXTREPO_DATABASE_URL!);
    change(url);
    return { ...storage.env, EXTREPO_DATABASE_URL: url.href, ...extra };
  };

  test('refused: names EXTREPO_DATABASE_URL', OPTIONS, async () => {
    const closed = await freePort();
    const failed = await failedStart(withDatabase((url) => (url.port = String(closed))));
    assert.equal(failed.code, 3);
    assert.match(
      failed.line,
      new RegExp(`EXTREPO_DATABASE_URL \\(postgres@127\\.0\\.0\\.1:${closed}/extrepo_t_\\w+\\): connection refused: is PostgreSQL running`),
    );
  });

  test('wrong credentials: names EXTREPO_DATABASE_URL without showing the password', OPTIONS, async () => {
    const failed = await failedStart(
      withDatabase((url) => {
        url.username = 'nobody_here';
        url.password = 'sekrit-password';
      }),
    );
    assert.equal(failed.code, 3);
    assert.match(failed.line, /EXTREPO_DATABASE_URL \(nobody_here@.*\): the server refused the credentials .*fix the user name and password/);
    assert.doesNotMatch(failed.stderr, /sekrit-password/);
  });

  test('a database that does not exist: says to create it', OPTIONS, async () => {
    const failed = await failedStart(withDatabase((url) => (url.pathname = '/no_such_database')));
    assert.equal(failed.code, 3);
    assert.match(failed.line, /EXTREPO_DATABASE_URL \(.*\/no_such_database\): .*does not exist: create the database/);
  });

  test('TLS asked of a server without it: names EXTREPO_DATABASE_SSL', OPTIONS, async () => {
    const failed = await failedStart(withDatabase(() => undefined, { EXTREPO_DATABASE_SSL: 'require' }));
    assert.equal(failed.code, 3);
    assert.match(failed.line, /EXTREPO_DATABASE_SSL=require: the server at .* does not accept TLS: set EXTREPO_DATABASE_SSL=disable/);
  });

  test('a missing bucket: names EXTREPO_S3_BUCKET', OPTIONS, async () => {
    const failed = await failedStart({ ...storage.env, EXTREPO_S3_BUCKET: 'no-such-bucket' });
    assert.equal(failed.code, 3);
    assert.match(failed.line, /EXTREPO_S3_BUCKET=no-such-bucket at EXTREPO_S3_ENDPOINT=http:\/\/\S+: the bucket does not exist: create it/);
  });

  // S3 not answering is an outage, not a setting (issue 17): the server starts, not ready, and its log
  // names the setting to check; it becomes ready once S3 answers (test/startup.test.ts).
  test('an unreachable S3 endpoint: starts not ready, and the log names EXTREPO_S3_ENDPOINT', OPTIONS, async () => {
    const started = await startEntryPoint({ ...storage.env, EXTREPO_S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    try {
      const ready = await fetch(`${started.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(
        started.stdout() + started.stderr(),
        /EXTREPO_S3_BUCKET=\S+ at EXTREPO_S3_ENDPOINT=\S+: cannot reach the S3 endpoint .*check EXTREPO_S3_ENDPOINT/,
      );
    } finally {
      started.process.kill('SIGTERM');
      assert.equal(await started.exited, 0);
    }
  });
});
