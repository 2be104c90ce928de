// extrepo-test-backends: each
// How deployment plans reference extensions: the rules a user_plugins / user_bundles entry must
// follow (ECE's clusters.cluster_invalid_plan, `fields` naming the entry), include_deployments on
// the extensions API, and the in-use rule that stops an extension a current plan uses from being deleted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDeployment, createRequest, DEPLOYMENTS, entry, EXTENSIONS, extensionWithFile, updateRequest } from './helpers/deployments.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

const PLUGINS = 'resources.elasticsearch[0].plan.elasticsearch.user_plugins';
const BUNDLES = 'resources.elasticsearch[0].plan.elasticsearch.user_bundles';

async function refused(body: unknown, field: string, message: RegExp): Promise<void> {
  const response = await server.api('POST', DEPLOYMENTS, { json: body });
  assert.equal(response.status, 400, response.text);
  assert.equal(response.body.errors[0].code, 'clusters.cluster_invalid_plan');
  assert.deepEqual(response.body.errors[0].fields, [field]);
  assert.match(response.body.errors[0].message, message);
}

describe('plan references', () => {
  test('repo:// plugins and bundles that fit the plan are accepted; http(s) URLs are recorded unvalidated', async () => {
    const plugin = await extensionWithFile(server, 'plugin', '8.15.0');
    const wildcard = await extensionWithFile(server, 'bundle', '*');
    const major = await extensionWithFile(server, 'bundle', '8.*');
    const exact = await extensionWithFile(server, 'bundle', '8.15.0');
    const id = await createDeployment(
      server,
      createRequest({
        plugins: [entry(plugin.id), { name: 'external', url: 'https://mirror.example.com/p.zip', elasticsearch_version: '8.15.0' }],
        bundles: [entry(wildcard.id), entry(major.id), entry(exact.id)],
      }),
    );
    const read = await server.api('GET', `${DEPLOYMENTS}/${id}`);
    assert.equal(
      read.body.resources.elasticsearch[0].info.plan_info.current.plan.elasticsearch.user_plugins[1].url,
      'https://mirror.example.com/p.zip',
    );
  });

  test('an extension that does not exist is refused, naming the entry', async () => {
    await refused(createRequest({ plugins: [entry('1234567890')] }), `${PLUGINS}[0].url`, /does not exist/);
  });

  test('a plugin in user_bundles and a bundle in user_plugins are refused', async () => {
    const plugin = await extensionWithFile(server, 'plugin', '8.15.0');
    const bundle = await extensionWithFile(server, 'bundle', '*');
    await refused(createRequest({ bundles: [entry(plugin.id)] }), `${BUNDLES}[0].url`, /is a plugin: reference it in user_plugins/);
    await refused(createRequest({ plugins: [entry(bundle.id)] }), `${PLUGINS}[0].url`, /is a bundle: reference it in user_bundles/);
  });

  test("an entry's elasticsearch_version must equal the plan's version", async () => {
    const plugin = await extensionWithFile(server, 'plugin', '8.15.0');
    await refused(createRequest({ plugins: [entry(plugin.id, '8.14.0')] }), `${PLUGINS}[0].elasticsearch_version`, /must be equal/);
  });

  test("a plugin's version must equal the plan's exactly; a bundle's must cover it", async () => {
    const plugin = await extensionWithFile(server, 'plugin', '8.14.0');
    await refused(createRequest({ version: '8.14.1', plugins: [entry(plugin.id, '8.14.1')] }), `${PLUGINS}[0].url`, /equal it exactly/);
    const seven = await extensionWithFile(server, 'bundle', '7.*');
    await refused(createRequest({ bundles: [entry(seven.id)] }), `${BUNDLES}[0].url`, /does not cover Elasticsearch 8\.15\.0/);
    const exact = await extensionWithFile(server, 'bundle', '8.15.1');
    await refused(createRequest({ bundles: [entry(exact.id)] }), `${BUNDLES}[0].url`, /does not cover/);
  });

  test('an extension without a file is refused', async () => {
    const created = await server.api('POST', EXTENSIONS, { json: { name: 'no-file', version: '*', extension_type: 'bundle' } });
    await refused(createRequest({ bundles: [entry(created.body.id)] }), `${BUNDLES}[0].url`, /has no file yet/);
  });

  test('the same extension twice in one plan is refused (terraform-provider-ec#997)', async () => {
    const bundle = await extensionWithFile(server, 'bundle', '*');
    await refused(createRequest({ bundles: [entry(bundle.id, '8.15.0', 'a'), entry(bundle.id, '8.15.0', 'b')] }), `${BUNDLES}[1].url`, /again/);
  });

  test('a URL that is neither repo:// nor http(s) is refused', async () => {
    await refused(
      createRequest({ bundles: [{ name: 'local', url: 'file:///etc/passwd', elasticsearch_version: '8.15.0' }] }),
      `${BUNDLES}[0].url`,
      /repo:\/\/<extension id> or an http\(s\) URL/,
    );
  });

  test('an update is validated by the same rules', async () => {
    const id = await createDeployment(server, createRequest());
    const response = await server.api('PUT', `${DEPLOYMENTS}/${id}`, { json: updateRequest({ plugins: [entry('1234567890')] }) });
    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].code, 'clusters.cluster_invalid_plan');
    assert.deepEqual(response.body.errors[0].fields, [`${PLUGINS}[0].url`]);
  });
});

describe('include_deployments and the in-use rule', () => {
  test('get and list with include_deployments=true list the deployments whose current plan references the extension', async () => {
    const bundle = await extensionWithFile(server, 'bundle', '*');
    const unused = await extensionWithFile(server, 'bundle', '*');
    const first = await createDeployment(server, createRequest({ bundles: [entry(bundle.id)] }));
    const second = await createDeployment(server, createRequest({ bundles: [entry(bundle.id)] }));
    const got = await server.api('GET', `${EXTENSIONS}/${bundle.id}?include_deployments=true`);
    assert.deepEqual(got.body.deployments, [first, second]);
    assert.equal((await server.api('GET', `${EXTENSIONS}/${bundle.id}?include_deployments=false`)).body.deployments, undefined);
    assert.equal((await server.api('GET', `${EXTENSIONS}/${bundle.id}`)).body.deployments, undefined);
    assert.deepEqual((await server.api('GET', `${EXTENSIONS}/${unused.id}?include_deployments=true`)).body.deployments, []);
    const listed = await server.api('GET', `${EXTENSIONS}?include_deployments=true`);
    const inList = listed.body.extensions.find((e: { id: string }) => e.id === bundle.id);
    assert.deepEqual(inList.deployments, [first, second]);
    const plain = await server.api('GET', EXTENSIONS);
    assert.equal(plain.body.extensions.find((e: { id: string }) => e.id === bundle.id).deployments, undefined);

    // Only the current plan counts: a plan that drops the reference removes the deployment.
    const dropped = await server.api('PUT', `${DEPLOYMENTS}/${second}`, { json: updateRequest() });
    assert.equal(dropped.status, 200, dropped.text);
    assert.deepEqual((await server.api('GET', `${EXTENSIONS}/${bundle.id}?include_deployments=true`)).body.deployments, [first]);
  });

  test("a browse page (the console's table) with include_deployments=true lists each extension's deployments; without it, none", async () => {
    const bundle = await extensionWithFile(server, 'bundle', '*');
    const unused = await extensionWithFile(server, 'bundle', '*');
    const first = await createDeployment(server, createRequest({ bundles: [entry(bundle.id)] }));
    const second = await createDeployment(server, createRequest({ bundles: [entry(bundle.id)] }));
    const page = await server.api('GET', `${EXTENSIONS}?search=${bundle.name}&include_deployments=true`);
    assert.equal(page.status, 200);
    assert.equal(page.body.total, 1);
    assert.deepEqual(page.body.extensions[0].deployments, [first, second]);
    const other = await server.api('GET', `${EXTENSIONS}?search=${unused.name}&include_deployments=true`);
    assert.deepEqual(other.body.extensions[0].deployments, []);
    const without = await server.api('GET', `${EXTENSIONS}?search=${bundle.name}`);
    assert.equal(without.body.extensions[0].deployments, undefined);
    // include_deployments alone is not a browse parameter: ECE's whole list, unchanged in shape.
    const whole = await server.api('GET', `${EXTENSIONS}?include_deployments=true`);
    assert.deepEqual(Object.keys(whole.body), ['extensions']);
  });

  test('deleting an extension a plan uses is 400 extensions.extension_in_use naming the deployments, and changes nothing', async () => {
    const bundle = await extensionWithFile(server, 'bundle', '*');
    const id = await createDeployment(server, createRequest({ name: 'uses-it', bundles: [entry(bundle.id)] }));
    const response = await server.api('DELETE', `${EXTENSIONS}/${bundle.id}`);
    assert.equal(response.status, 400, response.text);
    assert.equal(response.body.errors[0].code, 'extensions.extension_in_use');
    assert.equal(response.body.errors[0].message, `Cannot delete extension [${bundle.id}]. It is used by deployments [uses-it].`);
    assert.equal((await server.api('GET', `${EXTENSIONS}/${bundle.id}`)).status, 200);

    // A shut-down deployment still counts; once deleted it no longer does.
    await server.api('POST', `${DEPLOYMENTS}/${id}/_shutdown`);
    assert.equal((await server.api('DELETE', `${EXTENSIONS}/${bundle.id}`)).status, 400);
    assert.equal((await server.api('DELETE', `${DEPLOYMENTS}/${id}`)).status, 200);
    assert.equal((await server.api('DELETE', `${EXTENSIONS}/${bundle.id}`)).status, 200);
  });

  test('an extension stays updatable while in use (Elastic allows metadata and file updates)', async () => {
    const bundle = await extensionWithFile(server, 'bundle', '*');
    await createDeployment(server, createRequest({ bundles: [entry(bundle.id)] }));
    const updated = await server.api('POST', `${EXTENSIONS}/${bundle.id}`, {
      json: { name: bundle.name, version: '*', extension_type: 'bundle', description: 'still in use' },
    });
    assert.equal(updated.status, 200, updated.text);
  });
});
