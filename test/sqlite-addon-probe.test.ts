// extrepo-test-backends: none
// On Node 24 a better-sqlite3 compiled against 24.19+ headers aborts the process at its first
// garbage collection of a statement (nodejs/node#65446). The embedded store probes the addon in a
// child process before it opens, and refuses to start with one line that says what to do, instead
// of dying mid-request. The probe runs the real addon; the abort is a real SIGABRT of a real child.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsProbe, probeSqliteAddon, probeVerdict } from '../src/sqlite-addon-probe.js';
import { StartupError } from '../src/startup-errors.js';

test('the probe runs from Node 24 on, not on 20 or 22', () => {
  assert.equal(needsProbe('20.20.2'), false);
  assert.equal(needsProbe('22.23.0'), false);
  assert.equal(needsProbe('24.21.0'), true);
  assert.equal(needsProbe('26.1.0'), true);
});

test('the installed addon passes the probe on this Node.js (statements and a database freed and collected)', () => {
  assert.doesNotThrow(() => probeSqliteAddon({ force: true }));
});

test('an addon that aborts the child refuses the start in one line naming the fix', () => {
  const error = (() => {
    try {
      probeSqliteAddon({ force: true, script: 'process.abort()' });
    } catch (caught) {
      return caught;
    }
    return null;
  })();
  assert.ok(error instanceof StartupError, 'a StartupError');
  assert.match(error.message, /aborts Node\.js/);
  assert.match(error.message, /24\.18\.1 headers/);
  assert.match(error.message, /docs\/deployment\.md/);
  assert.doesNotMatch(error.message, /\n/);
});

test('an addon that does not load at all says so, with its own first error line', () => {
  const verdict = probeVerdict(1, null, "\nError: Cannot find module 'better-sqlite3'\n    at stack\n");
  assert.ok(verdict instanceof StartupError);
  assert.match(verdict.message, /cannot be loaded \(better-sqlite3: Error: Cannot find module 'better-sqlite3'\)/);
  assert.equal(probeVerdict(0, null, ''), null);
});
