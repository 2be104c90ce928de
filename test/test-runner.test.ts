// extrepo-test-backends: none
// scripts/run-tests.mjs runs a test file on the backends the file declares, and refuses to run at
// all when a file starts servers without declaring it, or declares something its code contradicts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs module of the test runner, without type declarations
import { declaredBackends } from '../scripts/test-backends.mjs';

const run = promisify(execFile);
// Spelled in pieces so that this file's own source does not look like one that starts servers.
const START_SERVER = 'start' + 'Server(';
const START_INSTANCE = 'start' + 'Instance(';

type Declared = { backends?: string; error?: string };
const check = (source: string) => declaredBackends('x.test.ts', source) as Declared;

test('a file that starts servers without declaring its backends is refused, naming the line to add', () => {
  for (const body of [`const s = await ${START_SERVER});`, `await ${START_INSTANCE}{});`]) {
    const result = check(`import x from 'y';\n${body}\n`);
    assert.match(result.error ?? '', /extrepo-test-backends: each\|own\|none/);
  }
});

test('a declaration the code contradicts is refused', () => {
  assert.match(check(`// extrepo-test-backends: none\nawait ${START_SERVER});\n`).error ?? '', /declares "none"/);
  assert.match(check(`// extrepo-test-backends: own\nawait ${START_SERVER});\n`).error ?? '', /declares "own"/);
  assert.match(check('// extrepo-test-backends: both\n').error ?? '', /not one of each, own, none/);
});

test('declared files run as they say', () => {
  assert.deepEqual(check(`// extrepo-test-backends: each\nawait ${START_SERVER});\n`), { backends: 'each' });
  assert.deepEqual(check(`// extrepo-test-backends: own\nawait ${START_INSTANCE}{});\n`), { backends: 'own' });
  assert.deepEqual(check('// extrepo-test-backends: none\nassert.ok(true);\n'), { backends: 'none' });
});

test('the runner stops before running anything when a file is undeclared', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-runner-'));
  try {
    const file = path.join(dir, 'undeclared.test.ts');
    await writeFile(file, `import { test } from 'node:test';\ntest('x', async () => { await ${START_SERVER}); });\n`);
    await assert.rejects(
      run(process.execPath, ['scripts/run-tests.mjs', file], { env: { ...process.env, EXTREPO_TEST_BACKENDS: 'sqlite-fs' } }),
      (error: { code: number; stderr: string; stdout: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /undeclared\.test\.ts: no "\/\/ extrepo-test-backends/);
        assert.doesNotMatch(error.stdout, /# pass/);
        return true;
      },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
