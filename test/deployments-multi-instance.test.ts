// extrepo-test-backends: own
// Two extrepo processes over one PostgreSQL database: an extension deleted on one instance while a
// plan that references it is stored on the other ends with exactly one of them refused, never with
// a plan pointing at nothing; and a request_id replayed on the other instance creates no second deployment.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { bundleZip } from './helpers/archives.js';
import { createRequest, DEPLOYMENTS, entry, EXTENSIONS } from './helpers/deployments.js';
import { startInstance, type Instance } from './helpers/instance.js';
import { ADMIN_KEY, freshSharedStorage, type SharedStorage } from './helpers/server.js';

let storage: SharedStorage;
let a: Instance;
let b: Instance;

before(async () => {
  storage = await freshSharedStorage();
  const env = { ...storage.env, EXTREPO_ADMIN_API_KEY: ADMIN_KEY };
  [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
});

after(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await storage?.release();
});

async function call(instance: Instance, method: string, path: string, init: { json?: unknown; body?: Buffer } = {}) {
  const headers: Record<string, string> = { authorization: `ApiKey ${ADMIN_KEY}` };
  let body: string | Buffer | undefined = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  } else if (body !== undefined) {
    headers['content-type'] = 'application/zip';
  }
  const response = await fetch(instance.url + path, { method, headers, body: body as BodyInit | undefined });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
}

async function bundleWithFile(instance: Instance, name: string): Promise<string> {
  const created = await call(instance, 'POST', EXTENSIONS, { json: { name, version: '*', extension_type: 'bundle' } });
  assert.equal(created.status, 201, created.text);
  const uploaded = await call(instance, 'PUT', `${EXTENSIONS}/${created.body.id}`, { body: await bundleZip(`${name}\n`) });
  assert.equal(uploaded.status, 200, uploaded.text);
  return created.body.id as string;
}

describe('deployments on two instances', () => {
  test('delete of an extension racing a plan that adds it: exactly one is refused, no plan points at nothing', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const id = await bundleWithFile(a, `raced-${round}`);
      // Alternate which instance does what, and which request is sent first.
      const [deleter, planner] = round % 2 === 0 ? [a, b] : [b, a];
      const remove = () => call(deleter, 'DELETE', `${EXTENSIONS}/${id}`);
      const plan = () => call(planner, 'POST', DEPLOYMENTS, { json: createRequest({ bundles: [entry(id)] }) });
      const [deleted, planned] = round % 4 < 2 ? await Promise.all([remove(), plan()]) : (await Promise.all([plan(), remove()])).reverse();
      const outcome = `delete ${deleted!.status} / plan ${planned!.status}`;
      outcomes.add(outcome);
      if (planned!.status === 201) {
        assert.equal(deleted!.status, 400, outcome);
        assert.equal(deleted!.body.errors[0].code, 'extensions.extension_in_use');
        // The plan's extension is still there, on both instances, and lists the deployment.
        for (const instance of [a, b]) {
          const read = await call(instance, 'GET', `${EXTENSIONS}/${id}?include_deployments=true`);
          assert.equal(read.status, 200);
          assert.deepEqual(read.body.deployments, [planned!.body.id]);
        }
      } else {
        assert.equal(planned!.status, 400, `${outcome}: ${planned!.text}`);
        assert.equal(planned!.body.errors[0].code, 'clusters.cluster_invalid_plan');
        assert.equal(deleted!.status, 200, outcome);
        assert.equal((await call(b, 'GET', `${EXTENSIONS}/${id}`)).status, 404);
      }
    }
    // Every deployment's plan references only extensions that exist.
    const listed = await call(a, 'GET', DEPLOYMENTS);
    for (const deployment of listed.body.deployments as Array<{ id: string }>) {
      const read = await call(b, 'GET', `${DEPLOYMENTS}/${deployment.id}`);
      for (const bundle of read.body.resources.elasticsearch[0].info.plan_info.current.plan.elasticsearch.user_bundles ?? []) {
        const extensionId = (bundle.url as string).replace('repo://', '');
        assert.equal((await call(a, 'GET', `${EXTENSIONS}/${extensionId}`)).status, 200, `deployment ${deployment.id} points at ${extensionId}`);
      }
    }
    assert.ok(outcomes.size >= 1);
  });

  test('the same request_id sent to both instances at once creates one deployment', async () => {
    const requestId = randomBytes(32).toString('hex');
    const body = createRequest({ name: 'once' });
    const [first, second] = await Promise.all([
      call(a, 'POST', `${DEPLOYMENTS}?request_id=${requestId}`, { json: body }),
      call(b, 'POST', `${DEPLOYMENTS}?request_id=${requestId}`, { json: body }),
    ]);
    assert.deepEqual([first!.status, second!.status].sort(), [201, 202], `${first!.text} ${second!.text}`);
    assert.equal(first!.body.id, second!.body.id);
    const listed = await call(a, 'GET', DEPLOYMENTS);
    assert.equal(listed.body.deployments.filter((d: { name: string }) => d.name === 'once').length, 1);
  });

  test('an install URL handed out by one instance works on the other and stops on both after a rotation', async () => {
    const id = await bundleWithFile(a, 'installed');
    const created = await call(a, 'POST', DEPLOYMENTS, { json: createRequest({ bundles: [entry(id)] }) });
    const url = new URL((await call(a, 'GET', `${DEPLOYMENTS}/${created.body.id}/bundles`)).body.bundles[0].url);
    const onB = b.url + url.pathname;
    assert.equal((await fetch(onB)).status, 200);
    assert.equal((await call(b, 'POST', `${DEPLOYMENTS}/${created.body.id}/_rotate_install_secret`)).status, 200);
    assert.equal((await fetch(a.url + url.pathname)).status, 403);
    assert.equal((await fetch(onB)).status, 403);
  });
});
