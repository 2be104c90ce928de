// extrepo-test-backends: each
// The API document describes extrepo (name, version, where it is served, its own additions marked
// x-extrepo), and /api/v1/api-docs/ shows it as a Swagger UI page whose every asset this server
// serves itself, so the page works offline.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { startServer, type TestServer } from './helpers/server.js';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
type Json = Record<string, any>;

describe('the API document', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  test('names extrepo and its version, and the host and scheme it was reached on', async () => {
    const response = await fetch(`${server.url}/api/v1/api-docs/swagger.json`);
    assert.equal(response.status, 200);
    const doc = (await response.json()) as Json;
    assert.equal(doc.info.title, 'extrepo');
    assert.equal(doc.info.version, VERSION);
    assert.equal(doc.info['x-ece-api-version'], '1');
    assert.equal(doc.host, new URL(server.url).host);
    assert.deepEqual(doc.schemes, ['http']);
    assert.equal(doc.basePath, '/api/v1');
    await SwaggerParser.validate(doc as never);
  });

  test("marks extrepo's own additions with x-extrepo, and leaves Elastic's operations unmarked", async () => {
    const doc = (await (await fetch(`${server.url}/api/v1/api-docs/swagger.json`)).json()) as Json;
    assert.equal(doc.paths['/audit'].get['x-extrepo'], true);
    assert.equal(doc.tags.find((tag: Json) => tag.name === 'Audit')['x-extrepo'], true);
    assert.equal(doc.definitions.AuditRecord['x-extrepo'], true);
    assert.equal(doc.definitions.ExtensionFileMetadata.properties.sha256['x-extrepo'], true);
    assert.equal(doc.paths['/deployments/extensions'].get['x-extrepo'], undefined);
    assert.equal(doc.paths['/users'].get['x-extrepo'], undefined);
  });

  test('with EXTREPO_PUBLIC_URL, host and scheme are the public ones', async () => {
    const behindProxy = await startServer({ EXTREPO_PUBLIC_URL: 'https://repo.example.com:8443' });
    try {
      const doc = (await (await fetch(`${behindProxy.url}/api/v1/api-docs/swagger.json`)).json()) as Json;
      assert.equal(doc.host, 'repo.example.com:8443');
      assert.deepEqual(doc.schemes, ['https']);
    } finally {
      await behindProxy.close();
    }
  });
});

describe('the Swagger UI page', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  for (const page of ['/api/v1/api-docs/', '/api/v1/api-docs']) {
    test(`${page} loads, with every asset it references served here, without credentials and without external URLs`, async () => {
      const response = await fetch(server.url + page);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      const html = await response.text();
      assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no asset from another origin');
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => new URL(match[1]!, server.url + page).href);
      assert.ok(assets.length >= 5, `assets: ${assets.join(', ')}`);
      for (const asset of assets) {
        assert.ok(asset.startsWith(`${server.url}/api/v1/api-docs/static/`), asset);
        const loaded = await fetch(asset);
        assert.equal(loaded.status, 200, asset);
        assert.ok((await loaded.arrayBuffer()).byteLength > 0, asset);
      }
      const initializer = await (await fetch(`${server.url}/api/v1/api-docs/static/swagger-initializer.js`)).text();
      // The online validator badge would be the page's one request to the Internet.
      assert.match(initializer, /validatorUrl: null/);
      const code = initializer.replace(/^\s*\/\/.*$/gm, ''); // its comments cite web pages; its code loads none
      assert.doesNotMatch(code, /https?:\/\//);
      assert.match(initializer, /resolveUrl\('\.\/json'\)/);
    });
  }

  test('the page shows the same document as swagger.json', async () => {
    const page = (await (await fetch(`${server.url}/api/v1/api-docs/json`)).json()) as Json;
    const served = (await (await fetch(`${server.url}/api/v1/api-docs/swagger.json`)).json()) as Json;
    assert.deepEqual(page, served);
  });
});
