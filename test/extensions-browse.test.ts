// extrepo-test-backends: each
// extrepo's browse parameters of GET /deployments/extensions (search, type, sort, size, cursor),
// which the web console's table uses: one sorted page at a time with the number of matches, on
// both stores, while Elastic's clients (who send none of them) keep getting the whole list.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { zipOf } from './helpers/archives.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;

interface Listed {
  id: string;
  name: string;
  version: string;
  extension_type: string;
  description?: string;
  file_metadata?: { size: number; sha256: string; last_modified_date: string };
}

// Names chosen so bytewise order differs from a case-insensitive one, with a duplicate name (ties
// broken by id), plugins and bundles, with and without files of different sizes.
const FIXTURES = [
  { name: 'analysis-icu', version: '8.12.2', extension_type: 'bundle', description: 'ICU analysis', file: 300 },
  { name: 'Zeta-dictionary', version: '*', extension_type: 'bundle', description: 'Synonyms for the zeta team', file: 10 },
  { name: 'geoip', version: '8.*', extension_type: 'bundle', description: 'GeoIP database', file: null },
  { name: 'synonyms', version: '7.*', extension_type: 'bundle', description: 'Company SYNONYMS', file: 2000 },
  { name: 'synonyms', version: '8.*', extension_type: 'bundle', file: 50 },
  { name: 'percent_100', version: '*', extension_type: 'bundle', description: 'a literal 100% and t_1 in the text', file: null },
  { name: 'plugin-a', version: '8.12.2', extension_type: 'plugin', description: 'metadata only', file: null },
  { name: 'plugin-b', version: '8.11.0', extension_type: 'plugin', description: 'a decoy: tx1 and fifty percent', file: null },
  { name: 'scripts', version: '*', extension_type: 'bundle', description: 'Painless scripts', file: 700 },
] as const;

let all: Listed[] = [];

before(async () => {
  server = await startServer();
  for (const fixture of FIXTURES) {
    const { file, ...body } = fixture;
    const created = await server.api('POST', '/api/v1/deployments/extensions', { json: body });
    assert.equal(created.status, 201, created.text);
    if (file !== null) {
      const zip = await zipOf({ 'data.txt': 'x'.repeat(file) }, { compress: false });
      const uploaded = await server.api('PUT', `/api/v1/deployments/extensions/${created.body.id}`, {
        body: zip,
        headers: { 'content-type': 'application/zip' },
      });
      assert.equal(uploaded.status, 200, uploaded.text);
    }
  }
  all = (await server.api('GET', '/api/v1/deployments/extensions')).body.extensions;
  assert.equal(all.length, FIXTURES.length);
});
after(async () => {
  await server.close();
});

const bytewise = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortKey(extension: Listed, field: string): string | number {
  switch (field) {
    case 'size':
      return extension.file_metadata?.size ?? -1;
    case 'sha256':
      return extension.file_metadata?.sha256 ?? '';
    case 'last_modified':
      return extension.file_metadata ? Date.parse(extension.file_metadata.last_modified_date) : 0;
    default:
      return (extension as unknown as Record<string, string>)[field]!;
  }
}

function expectedOrder(items: Listed[], field: string, descending: boolean): string[] {
  const sorted = [...items].sort((a, b) => {
    const ka = sortKey(a, field);
    const kb = sortKey(b, field);
    const byKey = typeof ka === 'number' ? ka - (kb as number) : bytewise(ka, kb as string);
    return byKey !== 0 ? byKey : bytewise(a.id, b.id);
  });
  if (descending) sorted.reverse();
  return sorted.map((item) => item.id);
}

/** Every page of a browse query, following next_cursor; checks total on each page. */
async function browseAll(params: Record<string, string>, expectedTotal: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const query = new URLSearchParams({ ...params, ...(cursor ? { cursor } : {}) });
    const response = await server.api('GET', `/api/v1/deployments/extensions?${query}`);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.total, expectedTotal);
    ids.push(...response.body.extensions.map((extension: Listed) => extension.id));
    cursor = response.body.next_cursor;
    if (cursor === undefined) return ids;
    assert.equal(response.body.extensions.length, Number(params.size ?? 50));
  }
  throw new Error('more pages than extensions');
}

describe('browsing the extensions list', () => {
  test('without browse parameters the answer is the whole list, with neither total nor cursor (as ECE clients expect)', async () => {
    const response = await server.api('GET', '/api/v1/deployments/extensions?include_deployments=false');
    assert.equal(response.status, 200);
    assert.deepEqual(Object.keys(response.body), ['extensions']);
    assert.equal(response.body.extensions.length, FIXTURES.length);
  });

  for (const field of ['name', 'extension_type', 'version', 'size', 'sha256', 'last_modified']) {
    for (const direction of ['asc', 'desc']) {
      test(`pages sorted by ${field}:${direction} follow next_cursor through every extension once, in order`, async () => {
        const ids = await browseAll({ sort: `${field}:${direction}`, size: '2' }, FIXTURES.length);
        assert.deepEqual(ids, expectedOrder(all, field, direction === 'desc'));
      });
    }
  }

  test('the default is 50 per page sorted by name, bytewise (upper case first), ties broken by id', async () => {
    const response = await server.api('GET', '/api/v1/deployments/extensions?size=50');
    assert.equal(response.body.next_cursor, undefined);
    const names = response.body.extensions.map((extension: Listed) => extension.name);
    assert.equal(names[0], 'Zeta-dictionary');
    assert.deepEqual(
      response.body.extensions.map((extension: Listed) => extension.id),
      expectedOrder(all, 'name', false),
    );
  });

  test('search matches the name or the description, ignoring case; total counts the matches', async () => {
    const ids = await browseAll({ search: 'SYNONYMS', size: '1' }, 3);
    const expected = all.filter((e) => /synonyms/i.test(e.name) || /synonyms/i.test(e.description ?? ''));
    assert.deepEqual(ids, expectedOrder(expected, 'name', false));
  });

  test('a search treats % and _ literally', async () => {
    const percent = await server.api('GET', '/api/v1/deployments/extensions?search=%25');
    assert.deepEqual(
      percent.body.extensions.map((e: Listed) => e.name),
      ['percent_100'],
    );
    const underscore = await server.api('GET', '/api/v1/deployments/extensions?search=t_1');
    assert.deepEqual(
      underscore.body.extensions.map((e: Listed) => e.name),
      ['percent_100'],
    );
  });

  test('type keeps only plugins or only bundles, combined with search', async () => {
    const plugins = await browseAll({ type: 'plugin' }, 2);
    assert.deepEqual(
      plugins,
      expectedOrder(
        all.filter((e) => e.extension_type === 'plugin'),
        'name',
        false,
      ),
    );
    const response = await server.api('GET', '/api/v1/deployments/extensions?type=plugin&search=metadata');
    assert.deepEqual(
      response.body.extensions.map((e: Listed) => e.name),
      ['plugin-a'],
    );
    assert.equal(response.body.total, 1);
  });

  test('no match is an empty page with total 0', async () => {
    const response = await server.api('GET', '/api/v1/deployments/extensions?search=nothing-is-called-this');
    assert.deepEqual(response.body, { extensions: [], total: 0 });
  });

  test('a deployment manager browses only their own extensions', async () => {
    const user = await server.api('POST', '/api/v1/users', {
      json: { user_name: 'browser-manager', security: { roles: ['ece_deployment_manager'], password: 'a long passphrase' } },
    });
    assert.equal(user.status, 200, user.text);
    const authorization = `Basic ${Buffer.from('browser-manager:a long passphrase').toString('base64')}`;
    const created = await server.api('POST', '/api/v1/deployments/extensions', {
      json: { name: 'synonyms-own', version: '*', extension_type: 'bundle' },
      headers: { authorization },
    });
    assert.equal(created.status, 201);
    const response = await server.api('GET', '/api/v1/deployments/extensions?search=synonyms', { headers: { authorization } });
    assert.deepEqual(
      response.body.extensions.map((e: Listed) => e.id),
      [created.body.id],
    );
    assert.equal(response.body.total, 1);
    await server.api('DELETE', `/api/v1/deployments/extensions/${created.body.id}`, { headers: { authorization } });
  });

  test('a page reflects a change made between pages: nothing is served twice', async () => {
    const first = await server.api('GET', '/api/v1/deployments/extensions?sort=name&size=3');
    const extra = await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'AAA-first', version: '*', extension_type: 'bundle' } });
    const rest = await browseAllFrom(first.body.next_cursor);
    const ids = [...first.body.extensions.map((e: Listed) => e.id), ...rest];
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(!ids.includes(extra.body.id), 'an extension sorting before the cursor is not served late');
    await server.api('DELETE', `/api/v1/deployments/extensions/${extra.body.id}`);
  });

  const refusals: Array<[string, string]> = [
    ['sort=popularity', 'sort'],
    ['sort=name:sideways', 'sort'],
    ['size=0', 'size'],
    ['size=1001', 'size'],
    ['size=ten', 'size'],
    ['type=theme', 'type'],
    ['cursor=not-a-cursor', 'cursor'],
    [`search=${'x'.repeat(257)}`, 'search'],
    ['sort=name&sort=version', 'sort'],
  ];
  for (const [query, field] of refusals) {
    test(`?${query.slice(0, 40)} is refused with 400 root.invalid_request naming ${field}`, async () => {
      const response = await server.api('GET', `/api/v1/deployments/extensions?${query}`);
      assert.equal(response.status, 400);
      assert.equal(response.headers.get('x-cloud-error-codes'), 'root.invalid_request');
      assert.deepEqual(response.body.errors[0].fields, [field]);
    });
  }

  test('a cursor sent with another sort than it was made for is refused, naming the sort it belongs to', async () => {
    const first = await server.api('GET', '/api/v1/deployments/extensions?sort=size:desc&size=2');
    const response = await server.api('GET', `/api/v1/deployments/extensions?sort=name&cursor=${first.body.next_cursor}`);
    assert.equal(response.status, 400);
    assert.deepEqual(response.body.errors[0].fields, ['cursor']);
    assert.match(response.body.errors[0].message, /sort=size:desc/);
  });

  test("the served API document lists the browse parameters as extrepo's additions to Elastic's operation", async () => {
    const document = await (await fetch(`${server.url}/api/v1/api-docs/swagger.json`)).json();
    const operation = document.paths['/deployments/extensions'].get;
    assert.equal(operation.operationId, 'list-extensions');
    const names = operation.parameters.map((parameter: { name: string }) => parameter.name);
    for (const name of ['search', 'type', 'sort', 'size', 'cursor', 'include_deployments']) assert.ok(names.includes(name), name);
    for (const parameter of operation.parameters) assert.match(parameter.description, /^extrepo: /);
    assert.match(operation.description, /extrepo's addition/);
    assert.ok(document.definitions.ExtensionsPage);
  });
});

async function browseAllFrom(cursor: string | undefined): Promise<string[]> {
  const ids: string[] = [];
  while (cursor !== undefined) {
    const response = await server.api('GET', `/api/v1/deployments/extensions?sort=name&size=3&cursor=${cursor}`);
    ids.push(...response.body.extensions.map((e: Listed) => e.id));
    cursor = response.body.next_cursor;
  }
  return ids;
}
