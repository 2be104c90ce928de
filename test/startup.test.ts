// extrepo-test-backends: own
// Start-up does not depend on the file store: the server listens at once (garbage collection runs
// in the background, src/domain/housekeeping.ts), starts not ready while S3 is down, and becomes
// ready when S3 returns, without a restart. A real extrepo process over PostgreSQL and this file's
// own s3rver, which is stopped before the start and started again on the same port.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startInstance, type Instance } from './helpers/instance.js';
import { startS3, type RestartableS3 } from './helpers/s3.js';
import { ADMIN_KEY, freshSharedStorage, type SharedStorage } from './helpers/server.js';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let storage: SharedStorage;
let s3: RestartableS3;
let instance: Instance | undefined;

before(async () => {
  [storage, s3] = await Promise.all([freshSharedStorage(), startS3()]);
});

after(async () => {
  await instance?.stop();
  await Promise.allSettled([storage?.release(), s3?.stop()]);
});

describe('start-up', () => {
  test('with S3 down the server starts listening, not ready, and becomes ready when S3 returns', async () => {
    await s3.halt();
    try {
      instance = await startInstance({
        ...storage.env,
        EXTREPO_S3_ENDPOINT: s3.endpoint,
        EXTREPO_S3_BUCKET: s3.bucket,
        EXTREPO_ADMIN_API_KEY: ADMIN_KEY,
      });
      const notReady = await fetch(`${instance.url}/readyz`);
      assert.equal(notReady.status, 503);
      assert.equal(notReady.headers.get('x-cloud-error-codes'), 'root.service_unavailable');
      assert.ok(notReady.headers.get('retry-after'));
      const body = (await notReady.json()) as { errors: Array<{ message: string }> };
      assert.match(body.errors[0]!.message, /file store \(S3\)/);
      // Metadata is served meanwhile.
      const list = await fetch(`${instance.url}/api/v1/deployments/extensions`, { headers: { authorization: `ApiKey ${ADMIN_KEY}` } });
      assert.equal(list.status, 200);
    } finally {
      await s3.resume();
    }
    let ready = 0;
    for (let attempt = 0; attempt < 100 && ready !== 200; attempt++) {
      ready = (await fetch(`${instance.url}/readyz`)).status;
      if (ready !== 200) await delay(100);
    }
    assert.equal(ready, 200, 'ready once S3 is back');
    assert.equal(instance.child.exitCode, null, 'still running');
  });
});
