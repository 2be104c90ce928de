// extrepo-test-backends: each
// The deployments registry over real HTTP, on ECE's paths and shapes: create (request_id,
// validate_only), list, get (the stored plan), update (plan history, prune_orphans, ?version=),
// shutdown and delete, and what extrepo does not claim to know.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createDeployment, createRequest, DEPLOYMENTS, entry, extensionWithFile, updateRequest } from './helpers/deployments.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

const HEX32 = /^[0-9a-f]{32}$/;

describe('create', () => {
  test('answers 201 with a 32-hex id and the created Elasticsearch resource, and resource headers', async () => {
    const body = createRequest({ name: 'search-prod' });
    const response = await server.api('POST', DEPLOYMENTS, { json: body });
    assert.equal(response.status, 201, response.text);
    assert.match(response.body.id, HEX32);
    assert.equal(response.body.name, 'search-prod');
    assert.equal(response.body.created, true);
    assert.equal(response.body.resources.length, 1);
    const [resource] = response.body.resources;
    assert.deepEqual({ ...resource, id: undefined }, { ref_id: 'main-elasticsearch', kind: 'elasticsearch', region: 'ece-region', id: undefined });
    assert.match(resource.id, HEX32);
    // Nothing a registry cannot know: no credentials, cloud_id or endpoints.
    assert.equal(resource.credentials, undefined);
    assert.equal(resource.cloud_id, undefined);
    assert.equal(response.headers.get('x-cloud-resource-version'), '1');
  });

  test('the same request_id again answers 202 with the first deployment and creates no second', async () => {
    const requestId = randomBytes(32).toString('hex');
    const first = await server.api('POST', `${DEPLOYMENTS}?request_id=${requestId}`, { json: createRequest({ name: 'idempotent' }) });
    assert.equal(first.status, 201, first.text);
    const again = await server.api('POST', `${DEPLOYMENTS}?request_id=${requestId}`, { json: createRequest({ name: 'idempotent-2' }) });
    assert.equal(again.status, 202, again.text);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.name, 'idempotent');
    assert.equal(again.body.created, false);
    const listed = await server.api('GET', DEPLOYMENTS);
    assert.equal(listed.body.deployments.filter((d: { name: string }) => d.name.startsWith('idempotent')).length, 1);
  });

  test('a request_id shorter than 32 or longer than 128 characters is refused', async () => {
    for (const requestId of ['short', 'x'.repeat(129)]) {
      const response = await server.api('POST', `${DEPLOYMENTS}?request_id=${requestId}`, { json: createRequest() });
      assert.equal(response.status, 400);
      assert.equal(response.body.errors[0].code, 'root.invalid_request');
      assert.deepEqual(response.body.errors[0].fields, ['request_id']);
    }
  });

  test('validate_only=true validates, answers 200 and stores nothing', async () => {
    const before = (await server.api('GET', DEPLOYMENTS)).body.deployments.length;
    const response = await server.api('POST', `${DEPLOYMENTS}?validate_only=true`, { json: createRequest({ name: 'dry-run' }) });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.created, false);
    assert.equal((await server.api('GET', DEPLOYMENTS)).body.deployments.length, before);
    const bad = await server.api('POST', `${DEPLOYMENTS}?validate_only=true`, {
      json: createRequest({ plugins: [entry('0000000000')] }),
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].code, 'clusters.cluster_invalid_plan');
  });

  test('a request without an Elasticsearch resource, with two, or with other kinds is refused, naming the field', async () => {
    const none = await server.api('POST', DEPLOYMENTS, { json: { name: 'empty', resources: {} } });
    assert.equal(none.status, 400);
    assert.deepEqual(none.body.errors[0].fields, ['resources.elasticsearch']);
    const twoBody = createRequest();
    twoBody.resources.elasticsearch.push({ ...twoBody.resources.elasticsearch[0]!, ref_id: 'second' });
    const two = await server.api('POST', DEPLOYMENTS, { json: twoBody });
    assert.equal(two.status, 400);
    assert.deepEqual(two.body.errors[0].fields, ['resources.elasticsearch']);
    const kibana = await server.api('POST', DEPLOYMENTS, {
      json: {
        ...createRequest(),
        resources: {
          ...createRequest().resources,
          kibana: [{ ref_id: 'kb', elasticsearch_cluster_ref_id: 'main-elasticsearch', region: 'ece-region', plan: { kibana: {} } }],
        },
      },
    });
    assert.equal(kibana.status, 400);
    assert.equal(kibana.body.errors[0].code, 'root.invalid_json_request');
    assert.deepEqual(kibana.body.errors[0].fields, ['resources.kibana']);
  });

  test("a body that breaks ECE's schema is root.invalid_json_request with the field, and template_id is refused", async () => {
    const noRegion = createRequest() as { resources: { elasticsearch: Array<Record<string, unknown>> } };
    delete noRegion.resources.elasticsearch[0]!.region;
    const response = await server.api('POST', DEPLOYMENTS, { json: noRegion });
    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].code, 'root.invalid_json_request');
    assert.ok(
      response.body.errors[0].fields.some((f: string) => f.endsWith('region')),
      response.text,
    );
    const noVersion = createRequest() as { resources: { elasticsearch: Array<{ plan: { elasticsearch: Record<string, unknown> } }> } };
    delete noVersion.resources.elasticsearch[0]!.plan.elasticsearch.version;
    const versionless = await server.api('POST', DEPLOYMENTS, { json: noVersion });
    assert.equal(versionless.status, 400);
    assert.deepEqual(versionless.body.errors[0].fields, ['resources.elasticsearch[0].plan.elasticsearch.version']);
    const template = await server.api('POST', `${DEPLOYMENTS}?template_id=default`, { json: createRequest() });
    assert.equal(template.status, 400);
    assert.deepEqual(template.body.errors[0].fields, ['template_id']);
  });
});

describe('list and get', () => {
  test('list answers DeploymentsListResponse with each deployment and its resource', async () => {
    const id = await createDeployment(server, createRequest({ name: 'listed' }));
    const response = await server.api('GET', DEPLOYMENTS);
    assert.equal(response.status, 200);
    const listed = response.body.deployments.find((d: { id: string }) => d.id === id);
    assert.equal(listed.name, 'listed');
    assert.equal(listed.resources[0].kind, 'elasticsearch');
  });

  test('get answers the stored plan verbatim in plan_info.current.plan, unknown fields included, and no health', async () => {
    const plugin = await extensionWithFile(server, 'plugin', '8.15.0');
    const body = createRequest({
      name: 'verbatim',
      plugins: [entry(plugin.id)],
      extra: { transient: { strategy: { rolling: {} } }, some_future_field: { x: [1, 2] } },
    });
    const id = await createDeployment(server, body);
    const response = await server.api('GET', `${DEPLOYMENTS}/${id}`);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.id, id);
    assert.equal(response.body.name, 'verbatim');
    const [es] = response.body.resources.elasticsearch;
    assert.deepEqual(es.info.plan_info.current.plan, body.resources.elasticsearch[0]!.plan);
    assert.deepEqual(response.body.resources.kibana, []);
    assert.deepEqual(response.body.metadata.tags, [{ key: 'team', value: 'search' }]);
    for (const invented of ['healthy', 'status', 'topology', 'elasticsearch', 'snapshots']) {
      assert.equal(es.info[invented], undefined, invented);
    }
    assert.equal(response.body.healthy, undefined);
    assert.equal(response.headers.get('x-cloud-resource-version'), '1');
  });

  test('show_plans=false leaves the current plan out; an unknown or invisible id is deployments.deployment_not_found', async () => {
    const id = await createDeployment(server, createRequest());
    const response = await server.api('GET', `${DEPLOYMENTS}/${id}?show_plans=false`);
    assert.equal(response.body.resources.elasticsearch[0].info.plan_info.current, undefined);
    const missing = await server.api('GET', `${DEPLOYMENTS}/${'0'.repeat(32)}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errors[0].code, 'deployments.deployment_not_found');
  });
});

describe('update', () => {
  test('a new plan replaces the current one; the previous goes to the plan history', async () => {
    const id = await createDeployment(server, createRequest({ name: 'upgrading', version: '8.15.0' }));
    const update = await server.api('PUT', `${DEPLOYMENTS}/${id}`, { json: updateRequest({ name: 'upgraded', version: '8.15.1' }) });
    assert.equal(update.status, 200, update.text);
    assert.equal(update.body.name, 'upgraded');
    assert.deepEqual(update.body.shutdown_resources.elasticsearch, []);
    const read = await server.api('GET', `${DEPLOYMENTS}/${id}?show_plan_history=true`);
    const info = read.body.resources.elasticsearch[0].info.plan_info;
    assert.equal(info.current.plan.elasticsearch.version, '8.15.1');
    assert.equal(info.history.length, 1);
    assert.equal(info.history[0].plan.elasticsearch.version, '8.15.0');
    assert.ok(info.history[0].plan_end_time);
    assert.equal(read.headers.get('x-cloud-resource-version'), '2');
    // The resource keeps its id across plans.
    assert.equal(update.body.resources[0].id, read.body.resources.elasticsearch[0].id);
  });

  test('without resources and prune_orphans=false only the name changes; with prune_orphans=true the resource is shut down', async () => {
    const id = await createDeployment(server, createRequest({ name: 'prunable' }));
    const renamed = await server.api('PUT', `${DEPLOYMENTS}/${id}`, { json: { name: 'renamed', prune_orphans: false } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.resources.length, 1);
    const pruned = await server.api('PUT', `${DEPLOYMENTS}/${id}`, { json: { prune_orphans: true } });
    assert.equal(pruned.status, 200, pruned.text);
    assert.deepEqual(pruned.body.resources, []);
    assert.equal(pruned.body.shutdown_resources.elasticsearch.length, 1);
    const hidden = await server.api('PUT', `${DEPLOYMENTS}/${id}?hide_pruned_orphans=true`, { json: { prune_orphans: true } });
    assert.equal(hidden.body.shutdown_resources, undefined);
    const read = await server.api('GET', `${DEPLOYMENTS}/${id}`);
    assert.deepEqual(read.body.resources.elasticsearch, []);
  });

  test('another ref_id needs prune_orphans=true; ?version= must match x-cloud-resource-version', async () => {
    const id = await createDeployment(server, createRequest());
    const other = updateRequest();
    other.resources.elasticsearch[0]!.ref_id = 'other-es';
    const refused = await server.api('PUT', `${DEPLOYMENTS}/${id}`, { json: other });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body.errors[0].fields, ['resources.elasticsearch[0].ref_id']);
    const stale = await server.api('PUT', `${DEPLOYMENTS}/${id}?version=7`, { json: updateRequest() });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.errors[0].code, 'deployments.version_conflict');
    const current = await server.api('PUT', `${DEPLOYMENTS}/${id}?version=1`, { json: updateRequest() });
    assert.equal(current.status, 200, current.text);
    const missing = await server.api('PUT', `${DEPLOYMENTS}/${'f'.repeat(32)}`, { json: updateRequest() });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errors[0].code, 'deployments.deployment_not_found');
    const noPrune = await server.api('PUT', `${DEPLOYMENTS}/${id}`, { json: { name: 'x' } });
    assert.equal(noPrune.status, 400);
    assert.equal(noPrune.body.errors[0].code, 'root.invalid_json_request');
  });

  test('validate_only=true on update changes nothing', async () => {
    const id = await createDeployment(server, createRequest({ name: 'kept' }));
    const response = await server.api('PUT', `${DEPLOYMENTS}/${id}?validate_only=true`, { json: updateRequest({ name: 'not-kept' }) });
    assert.equal(response.status, 200, response.text);
    assert.equal((await server.api('GET', `${DEPLOYMENTS}/${id}`)).body.name, 'kept');
  });
});

describe('shutdown and delete', () => {
  test('delete of a running deployment is refused with deployments.resource_not_shutdown; after _shutdown it is deleted', async () => {
    const id = await createDeployment(server, createRequest({ name: 'short-lived' }));
    const refused = await server.api('DELETE', `${DEPLOYMENTS}/${id}`);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.errors[0].code, 'deployments.resource_not_shutdown');
    const shutdown = await server.api('POST', `${DEPLOYMENTS}/${id}/_shutdown`);
    assert.equal(shutdown.status, 200, shutdown.text);
    assert.deepEqual({ id: shutdown.body.id, name: shutdown.body.name }, { id, name: 'short-lived' });
    const read = await server.api('GET', `${DEPLOYMENTS}/${id}`);
    assert.equal(read.body.resources.elasticsearch[0].info.status, 'stopped');
    const deleted = await server.api('DELETE', `${DEPLOYMENTS}/${id}`);
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.id, id);
    assert.equal((await server.api('GET', `${DEPLOYMENTS}/${id}`)).status, 404);
    assert.equal((await server.api('DELETE', `${DEPLOYMENTS}/${id}`)).body.errors[0].code, 'deployments.deployment_not_found');
    assert.equal((await server.api('POST', `${DEPLOYMENTS}/${id}/_shutdown`)).body.errors[0].code, 'deployments.deployment_not_found');
  });

  test('hide on _shutdown is refused (a registry hides nothing)', async () => {
    const id = await createDeployment(server, createRequest());
    const response = await server.api('POST', `${DEPLOYMENTS}/${id}/_shutdown?hide=true`);
    assert.equal(response.status, 400);
    assert.deepEqual(response.body.errors[0].fields, ['hide']);
  });
});

describe('request details', () => {
  test('hide on _shutdown from a non-admin is deployments.restricted_parameter', async () => {
    await server.api('POST', '/api/v1/users', {
      json: { user_name: 'hider', security: { roles: ['ece_deployment_manager'], password: 'Secret-passphrase-0123' } },
    });
    const authorization = `Basic ${Buffer.from('hider:Secret-passphrase-0123').toString('base64')}`;
    const id = await createDeployment(server, createRequest(), authorization);
    const response = await server.api('POST', `${DEPLOYMENTS}/${id}/_shutdown?hide=true`, { headers: { authorization } });
    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].code, 'deployments.restricted_parameter');
  });

  test('a flag that is not true or false is root.invalid_request naming it', async () => {
    const id = await createDeployment(server, createRequest());
    const response = await server.api('GET', `${DEPLOYMENTS}/${id}?show_plans=yes`);
    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].code, 'root.invalid_request');
    assert.deepEqual(response.body.errors[0].fields, ['show_plans']);
  });

  test('other methods on the deployment paths are 405 root.method_not_allowed with Allow', async () => {
    const id = await createDeployment(server, createRequest());
    for (const [method, path, allow] of [
      ['DELETE', DEPLOYMENTS, 'GET, POST'],
      ['POST', `${DEPLOYMENTS}/${id}`, 'GET, PUT, DELETE'],
      ['GET', `${DEPLOYMENTS}/${id}/_shutdown`, 'POST'],
      ['GET', `${DEPLOYMENTS}/${id}/_rotate_install_secret`, 'POST'],
      ['PUT', `${DEPLOYMENTS}/${id}/bundles`, 'GET'],
    ] as const) {
      const response = await server.api(method, path);
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.body.errors[0].code, 'root.method_not_allowed');
      assert.equal(response.headers.get('allow'), allow);
    }
  });

  test('the extensions routes still win over /deployments/{id}: GET /deployments/extensions lists extensions', async () => {
    const response = await server.api('GET', '/api/v1/deployments/extensions');
    assert.equal(response.status, 200);
    assert.ok(Array.isArray(response.body.extensions));
  });
});
