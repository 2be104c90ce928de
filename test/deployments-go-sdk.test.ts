// extrepo-test-backends: each
// The deployment requests of cloud-sdk-go (what ecctl deployment create --file, list, show,
// update --file, shutdown, delete and extension show --include-deployments send), reproduced byte
// for byte over a raw socket (docs/client-compatibility.md, "What the Go clients send and accept"): Accept: application/json, Go's JSON encoding (sorted
// keys, trailing newline), every query flag spelled out, and bodiless POST/DELETE that still carry
// Content-Type: application/json (go-openapi/runtime v0.23.0) or none (v0.32.5).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DEPLOYMENTS, EXTENSIONS, extensionWithFile } from './helpers/deployments.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';
import { assertMatchesSpec } from './helpers/spec-validator.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

/** Go's json.Encoder: keys sorted (struct field order of the generated models is alphabetical), newline at the end. */
function goJson(value: unknown): string {
  const sort = (node: unknown): unknown =>
    Array.isArray(node)
      ? node.map(sort)
      : typeof node === 'object' && node !== null
        ? Object.fromEntries(
            Object.keys(node)
              .sort()
              .map((key) => [key, sort((node as Record<string, unknown>)[key])]),
          )
        : node;
  return JSON.stringify(sort(value)) + '\n';
}

/** One request written by hand, so that no header is added or dropped on the way. */
async function wire(method: string, path: string, headers: Record<string, string>, body?: string) {
  const { port } = new URL(server.url);
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'User-Agent: ecctl/1.14.0',
    'Accept: application/json',
    `Authorization: ApiKey ${ADMIN_KEY}`,
    'Accept-Encoding: gzip',
  ];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const raw = lines.join('\r\n') + '\r\n\r\n' + (body ?? '');
  const response = await fetchRaw(Number(port), raw);
  const [head, ...rest] = response.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head!.split('\r\n');
  const status = Number(statusLine!.split(' ')[1]);
  const responseHeaders = new Headers();
  for (const line of headerLines) {
    const cut = line.indexOf(':');
    responseHeaders.append(line.slice(0, cut), line.slice(cut + 1).trim());
  }
  let text = rest.join('\r\n\r\n');
  if (/chunked/i.test(responseHeaders.get('transfer-encoding') ?? '')) text = dechunk(text);
  const parsed = text === '' ? undefined : JSON.parse(text);
  await assertMatchesSpec({ method, path: path.split('?')[0]!, status, headers: responseHeaders, body: parsed });
  return { status, headers: responseHeaders, body: parsed };
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const cut = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, cut), 16);
    if (!size) return out;
    out += rest.slice(cut + 2, cut + 2 + size);
    rest = rest.slice(cut + 2 + size + 2);
  }
}

/** Writes the request on a kept-alive connection (as Go's client does) and reads one complete answer. */
function fetchRaw(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(raw));
    let received = Buffer.alloc(0);
    const complete = (): boolean => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const head = text.slice(0, end);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length) return received.length >= end + 4 + Number(length[1]);
      if (/\r\ntransfer-encoding: *chunked/i.test(head)) return text.endsWith('\r\n0\r\n\r\n');
      return /^HTTP\/1\.1 (204|304)/.test(head);
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (complete()) {
        socket.destroy();
        resolve(received.toString());
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received.toString()));
  });
}

describe('ecctl / cloud-sdk-go wire forms', () => {
  test('create --file, list, show, update --file, shutdown, delete, and extension show --include-deployments', async () => {
    const plugin = await extensionWithFile(server, 'plugin', '8.15.0');
    // ecctl always sends a request_id (deploymentapi.RequestID makes one up when none is given).
    const requestId = randomBytes(32).toString('hex');
    const payload = {
      name: 'from-ecctl',
      resources: {
        elasticsearch: [
          {
            plan: {
              cluster_topology: [{ id: 'hot_content', size: { resource: 'memory', value: 4096 }, zone_count: 1 }],
              deployment_template: { id: 'default' },
              elasticsearch: {
                user_plugins: [{ elasticsearch_version: '8.15.0', name: 'analysis-test', url: `repo://${plugin.id}` }],
                version: '8.15.0',
              },
            },
            ref_id: 'main-elasticsearch',
            region: 'ece-region',
          },
        ],
      },
    };
    const created = await wire('POST', `/api/v1/deployments?request_id=${requestId}`, { 'Content-Type': 'application/json' }, goJson(payload));
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    assert.equal(id.length, 32, 'ecctl refuses ids that are not 32 characters');
    const replay = await wire('POST', `/api/v1/deployments?request_id=${requestId}`, { 'Content-Type': 'application/json' }, goJson(payload));
    assert.equal(replay.status, 202);
    assert.equal(replay.body.id, id);

    const listed = await wire('GET', '/api/v1/deployments', {});
    assert.equal(listed.status, 200);
    assert.ok(listed.body.deployments.some((d: { id: string }) => d.id === id));

    // deploymentapi.Get spells out every flag (show_plans from --plans/--generate-payload).
    const flags =
      'show_metadata=false&show_plan_defaults=false&show_plan_history=false&show_plan_logs=false&show_plans=true&show_settings=true&show_system_alerts=5';
    const shown = await wire('GET', `/api/v1/deployments/${id}?${flags}`, {});
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body.resources.elasticsearch[0].info.plan_info.current.plan, payload.resources.elasticsearch[0]!.plan);

    const extension = await wire('GET', `${EXTENSIONS}/${plugin.id}?include_deployments=true`, {});
    assert.deepEqual(extension.body.deployments, [id]);

    // update --file: what show --generate-payload printed, with prune_orphans.
    const update = { ...payload, prune_orphans: false, name: 'renamed-by-ecctl' };
    const updated = await wire(
      'PUT',
      `/api/v1/deployments/${id}?hide_pruned_orphans=false&skip_snapshot=false`,
      { 'Content-Type': 'application/json' },
      goJson(update),
    );
    assert.equal(updated.status, 200);
    assert.equal(updated.body.name, 'renamed-by-ecctl');

    // shutdown: a POST without a body, with v0.23.0's JSON content type.
    const shutdown = await wire('POST', `/api/v1/deployments/${id}/_shutdown?skip_snapshot=false`, { 'Content-Type': 'application/json' });
    assert.equal(shutdown.status, 200);
    // delete: no body, Content-Type: application/json, no Content-Length (v0.23.0).
    const deleted = await wire('DELETE', `/api/v1/deployments/${id}`, { 'Content-Type': 'application/json' });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.id, id);
    assert.deepEqual((await wire('GET', `${EXTENSIONS}/${plugin.id}?include_deployments=true`, {})).body.deployments, []);
  });

  test('bodiless POST and DELETE without a content type (go-openapi/runtime v0.32.5) work too', async () => {
    const created = await wire(
      'POST',
      DEPLOYMENTS,
      { 'Content-Type': 'application/json' },
      goJson({
        name: 'v0325',
        resources: {
          elasticsearch: [
            { plan: { cluster_topology: [], elasticsearch: { version: '8.15.0' } }, ref_id: 'main-elasticsearch', region: 'ece-region' },
          ],
        },
      }),
    );
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    assert.equal((await wire('POST', `${DEPLOYMENTS}/${id}/_shutdown`, {})).status, 200);
    assert.equal((await wire('DELETE', `${DEPLOYMENTS}/${id}`, {})).status, 200);
  });
});
