// extrepo-test-backends: own
// The maintenance commands as operators run them (npm run gc / migrate): usage with --help, a clear
// refusal instead of an empty repository when EXTREPO_DATA_DIR holds none, and a migration report
// that says what was copied and what was already there.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { describeMigration } from '../src/tools/migrate.js';

const run = promisify(execFile);
let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'extrepo-tools-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function npmRun(script: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', script, '--', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? root, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('npm run gc -- --help and npm run migrate -- --help print their usage and exit 0', async () => {
  for (const script of ['gc', 'migrate']) {
    const help = await npmRun(script, ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^Usage: npm run ${script}`));
    assert.match(help.stdout, /Exit status/);
    assert.equal(help.stderr, '');
  }
});

test('gc on a data dir that does not exist fails with the setting named, and creates nothing', async () => {
  const missing = path.join(root, 'no-such-data-dir');
  const result = await npmRun('gc', [], { EXTREPO_DATA_DIR: missing });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /EXTREPO_DATA_DIR=.*no-such-data-dir holds no extrepo database/);
  assert.equal(existsSync(missing), false, 'no empty repository was created');
});

test('migrate without its required option names it and points at --help', async () => {
  const result = await npmRun('migrate', []);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--from-data-dir is required.*--help/);
});

test("migrate's summary counts extensions, users, keys and files, copied and already there", () => {
  const line = describeMigration({
    blobs: { copied: 3, skipped: 1, bytesCopied: 4096 },
    references: { checked: 6 },
    tables: { extensions: { rows: 5, inserted: 4 }, users: { rows: 2, inserted: 2 }, api_keys: { rows: 1, inserted: 0 } },
  });
  assert.equal(
    line,
    'extensions: 4 copied, 1 already there; users: 2 copied, 0 already there; API keys: 0 copied, 1 already there; ' +
      'files: 3 copied (4096 bytes, sha256 verified), 1 already there',
  );
});
