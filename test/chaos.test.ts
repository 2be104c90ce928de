// extrepo-test-backends: own
// A bounded chaos run (test/helpers/chaos.ts) in the suite: two instances over one PostgreSQL
// database and one S3 bucket under mixed load, one of them killed with SIGKILL again and again;
// then every answered write is present, every answered delete is gone, every link serves bytes
// that match its sha256, nothing answered 5xx, and no blob is left orphaned after garbage
// collection. The longer run is `node --import tsx bench/chaos.ts` (docs/benchmarks.md). About 15 s on a quiet
// machine, most of it six process starts; the timeout only guards against a hang on a very loaded one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runChaos } from './helpers/chaos.js';
import { ADMIN_KEY, freshSharedStorage, type SharedStorage } from './helpers/server.js';

let storage: SharedStorage;
before(async () => {
  storage = await freshSharedStorage();
});
after(async () => {
  await storage?.release();
});

test('two instances under mixed load, one killed again and again, lose no answered write and leave no orphan', { timeout: 600_000 }, async () => {
  const report = await runChaos({
    env: { ...storage.env, EXTREPO_ADMIN_API_KEY: ADMIN_KEY },
    adminKey: ADMIN_KEY,
    kills: 3,
    killEveryMs: 1_500,
    clients: 4,
  });
  assert.deepEqual(report.failures, []);
  assert.equal(report.kills, 3);
  assert.ok(report.writes > 0 && report.downloadsChecked > 0, JSON.stringify(report));
});
