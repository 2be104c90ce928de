// extrepo-test-backends: each
// X-Request-Id (issue 9.8): a client's id is kept only when it is short and safe (at most 128
// characters of A-Z a-z 0-9 . _ : -); anything else is replaced by a generated id, and is neither
// echoed, nor logged, nor stored in the audit trail.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startInstance } from './helpers/instance.js';
import { startServer, type TestServer } from './helpers/server.js';

const HOSTILE = ['x'.repeat(10_000), 'x'.repeat(129), 'has space', '<script>alert(1)</script>', 'a/b', 'é-accent', ''];

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

/**
 * The audit record of a change. It is written once the answer has been sent (docs/authentication.md,
 * "Audit"), so a client that asks at once may be a moment early: this asks again until it is there
 * (at most 10 s).
 */
async function auditRecordOf(target: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = await server.api('GET', `/api/v1/audit?target=${target}`);
    const record = (page.body.records as Array<Record<string, unknown>>)[0];
    if (record !== undefined) return record;
    assert.ok(Date.now() < deadline, `no audit record for ${target}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a short, safe X-Request-Id is echoed and stored in the audit trail', async () => {
  const id = 'Trace-01.abc_DEF:42-' + 'z'.repeat(108);
  assert.equal(id.length, 128);
  const created = await server.api('POST', '/api/v1/deployments/extensions', {
    json: { name: 'rid-safe', version: '*', extension_type: 'bundle' },
    headers: { 'x-request-id': id },
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.headers.get('x-request-id'), id);
  assert.equal((await auditRecordOf(created.body.id)).request_id, id);
});

test('an unsafe or oversized X-Request-Id is replaced by a generated one, in the answer and the audit trail', async () => {
  for (const [index, hostile] of HOSTILE.entries()) {
    const name = `rid-hostile-${index}`;
    const created = await server.api('POST', '/api/v1/deployments/extensions', {
      json: { name, version: '*', extension_type: 'bundle' },
      headers: { 'x-request-id': hostile },
    });
    assert.equal(created.status, 201, created.text);
    const echoed = created.headers.get('x-request-id') ?? '';
    assert.match(echoed, /^[0-9a-f-]{36}$/, `answer for ${hostile.slice(0, 20)}`);
    assert.equal((await auditRecordOf(created.body.id)).request_id, echoed);
  }
});

test('an oversized X-Request-Id does not reach the log', async () => {
  const instance = await startInstance({ EXTREPO_LOG_LEVEL: 'info', EXTREPO_ADMIN_API_KEY: 'request-id-test-key-0123456789' });
  try {
    const hostile = `hostile-${'q'.repeat(4000)}`;
    const response = await fetch(`${instance.url}/api/v1/deployments/extensions`, {
      headers: { authorization: 'ApiKey request-id-test-key-0123456789', 'x-request-id': hostile },
    });
    assert.equal(response.status, 200);
    const generated = response.headers.get('x-request-id') ?? '';
    assert.match(generated, /^[0-9a-f-]{36}$/);
    await instance.stop();
    assert.ok(instance.output().includes(generated), 'the generated id is logged');
    assert.ok(!instance.output().includes('qqqqqqqqqqqqqqqq'), 'the hostile id was logged');
  } finally {
    await instance.kill();
  }
});
