// extrepo-test-backends: each
// A self-managed Elasticsearch or OpenSearch cluster registered as a deployment gets exactly its
// extensions from extrepo: the declarative elasticsearch-plugins.yml, the bundle manifest, and
// install URLs that need no credentials (fetched here as the installers do: a plain GET with no
// headers), valid while referenced and revoked by a plan change, a deletion or a rotated secret.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
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

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** GET with no headers at all beyond what HTTP/1.1 needs (Host), as a bare installer fetch. */
function plainGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

async function pluginsYml(id: string): Promise<string> {
  const response = await server.api('GET', `${DEPLOYMENTS}/${id}/elasticsearch-plugins.yml`, { raw: true });
  assert.equal(response.status, 200, response.text);
  assert.match(response.headers.get('content-type')!, /^application\/yaml/);
  return response.text;
}

function locations(yml: string): string[] {
  return [...yml.matchAll(/location: "([^"]+)"/g)].map((match) => match[1]!);
}

async function setUp() {
  const plugin = await extensionWithFile(server, 'plugin', '8.15.0');
  const bundle = await extensionWithFile(server, 'bundle', '8.*');
  const id = await createDeployment(
    server,
    createRequest({
      name: 'self-managed',
      plugins: [
        entry(plugin.id, '8.15.0', 'analysis-test'),
        { name: 'analysis-icu', url: 'https://artifacts.example.com/analysis-icu-8.15.0.zip', elasticsearch_version: '8.15.0' },
      ],
      bundles: [entry(bundle.id, '8.15.0', 'synonyms')],
    }),
  );
  return { plugin, bundle, id };
}

describe('elasticsearch-plugins.yml and the bundle manifest', () => {
  test('the plugin file lists each plugin of the current plan; its install URL serves the exact bytes to a plain GET', async () => {
    const { plugin, id } = await setUp();
    const yml = await pluginsYml(id);
    assert.match(
      yml,
      /^plugins:\n {2}- id: "analysis-test"\n {4}location: "http:\/\/127\.0\.0\.1:\d+\/deployment-files\/[^"]+\.zip"\n {2}- id: "analysis-icu"\n {4}location: "https:\/\/artifacts\.example\.com\/analysis-icu-8\.15\.0\.zip"\n$/m,
    );
    const [location] = locations(yml);
    const download = await plainGet(location!);
    assert.equal(download.status, 200);
    assert.deepEqual(download.body, plugin.zip);
    assert.equal(download.headers.etag, `"${sha256(plugin.zip)}"`);
    assert.equal(download.headers['content-type'], 'application/zip');
    assert.equal(download.headers['content-length'], String(plugin.zip.length));
    const again = await plainGet(location!, { 'if-none-match': `"${sha256(plugin.zip)}"` });
    assert.equal(again.status, 304);
  });

  test('the bundle manifest gives name, version, sha256, size and an install URL for each bundle', async () => {
    const { bundle, id } = await setUp();
    const response = await server.api('GET', `${DEPLOYMENTS}/${id}/bundles`);
    assert.equal(response.status, 200, response.text);
    const [listed] = response.body.bundles;
    assert.equal(response.body.bundles.length, 1);
    assert.deepEqual(
      { name: listed.name, version: listed.version, extension_id: listed.extension_id, sha256: listed.sha256, size: listed.size },
      { name: 'synonyms', version: '8.*', extension_id: bundle.id, sha256: sha256(bundle.zip), size: bundle.zip.length },
    );
    const download = await plainGet(listed.url);
    assert.equal(download.status, 200);
    assert.deepEqual(download.body, bundle.zip);
  });

  test('a deployment without plugins or bundles gets an empty plugin list and manifest; an unknown one 404', async () => {
    const id = await createDeployment(server, createRequest());
    assert.match(await pluginsYml(id), /^plugins: \[\]$/m);
    assert.deepEqual((await server.api('GET', `${DEPLOYMENTS}/${id}/bundles`)).body.bundles, []);
    const missing = await server.api('GET', `${DEPLOYMENTS}/${'a'.repeat(32)}/bundles`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errors[0].code, 'deployments.deployment_not_found');
    const missingYml = await server.api('GET', `${DEPLOYMENTS}/${'a'.repeat(32)}/elasticsearch-plugins.yml`);
    assert.equal(missingYml.status, 404);
    assert.equal(missingYml.body.errors[0].code, 'deployments.deployment_not_found');
  });

  test('both need credentials', async () => {
    const { id } = await setUp();
    for (const path of ['elasticsearch-plugins.yml', 'bundles']) {
      const response = await plainGet(`${server.url}${DEPLOYMENTS}/${id}/${path}`);
      assert.equal(response.status, 401);
    }
  });
});

describe('install URLs', () => {
  test('stay valid across an unrelated plan change and stop when the plan drops the reference', async () => {
    const { plugin, bundle, id } = await setUp();
    const [pluginUrl] = locations(await pluginsYml(id));
    const bundleUrl = (await server.api('GET', `${DEPLOYMENTS}/${id}/bundles`)).body.bundles[0].url as string;
    // A new plan that keeps the plugin but drops the bundle.
    const update = await server.api('PUT', `${DEPLOYMENTS}/${id}`, {
      json: updateRequest({ plugins: [entry(plugin.id, '8.15.0', 'analysis-test')] }),
    });
    assert.equal(update.status, 200, update.text);
    assert.equal((await plainGet(pluginUrl!)).status, 200);
    const gone = await plainGet(bundleUrl);
    assert.equal(gone.status, 404);
    assert.equal(JSON.parse(gone.body.toString()).errors[0].code, 'extensions.not_found');
    assert.equal(bundle.id.length > 0, true);
  });

  test('rotating the install secret ends every URL at once; the files then list working ones', async () => {
    const { id } = await setUp();
    const [before] = locations(await pluginsYml(id));
    const rotated = await server.api('POST', `${DEPLOYMENTS}/${id}/_rotate_install_secret`);
    assert.equal(rotated.status, 200, rotated.text);
    assert.deepEqual(rotated.body, {});
    const old = await plainGet(before!);
    assert.equal(old.status, 403);
    assert.equal(JSON.parse(old.body.toString()).errors[0].code, 'root.forbidden');
    const [after] = locations(await pluginsYml(id));
    assert.notEqual(after, before);
    assert.equal((await plainGet(after!)).status, 200);
    const missing = await server.api('POST', `${DEPLOYMENTS}/${'b'.repeat(32)}/_rotate_install_secret`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errors[0].code, 'deployments.deployment_not_found');
  });

  test('stop when the deployment is deleted, and a tampered token is refused', async () => {
    const { id } = await setUp();
    const [location] = locations(await pluginsYml(id));
    const retoken = (edit: (token: string) => string): string =>
      location!.replace(/\/([A-Za-z0-9_-]{43})\//, (_m, token: string) => `/${edit(token)}/`);
    // A changed middle character always changes the decoded bytes.
    const tampered = retoken((token) => `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`);
    assert.notEqual(tampered, location);
    assert.equal((await plainGet(tampered)).status, 403);
    // The last of 43 characters carries two padding bits that a decoder drops: flipping them gives a
    // spelling that decodes to the same MAC. Only the exact spelling the server wrote may work.
    const samePadding = retoken((token) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return `${token.slice(0, -1)}${alphabet[alphabet.indexOf(token.at(-1)!) ^ 1]}`;
    });
    assert.notEqual(samePadding, location);
    assert.equal((await plainGet(samePadding)).status, 403, 'a second spelling of the same token');
    await server.api('POST', `${DEPLOYMENTS}/${id}/_shutdown`);
    assert.equal((await plainGet(location!)).status, 200, 'a shut-down deployment still uses its extensions');
    assert.equal((await server.api('DELETE', `${DEPLOYMENTS}/${id}`)).status, 200);
    const deleted = await plainGet(location!);
    assert.equal(deleted.status, 404);
    assert.equal(JSON.parse(deleted.body.toString()).errors[0].code, 'deployments.deployment_not_found');
  });

  test('curl -fsSL, as an install script runs it, downloads the same bytes', async () => {
    const { bundle, id } = await setUp();
    const url = (await server.api('GET', `${DEPLOYMENTS}/${id}/bundles`)).body.bundles[0].url as string;
    const { execFile } = await import('node:child_process');
    const bytes = await new Promise<Buffer>((resolve, reject) =>
      execFile('curl', ['-fsSL', url], { encoding: 'buffer' }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    assert.deepEqual(bytes, bundle.zip);
  });
});
