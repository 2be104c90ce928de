// extrepo-test-backends: each
// Every answer is a BasicFailedReply with x-cloud-error-codes (issue 9.6), including the ones Fastify's
// router and Node's HTTP parser produce: a malformed percent-escape in the path, a request that is
// not valid HTTP (Content-Length: abc), headers beyond Node's limit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { exchange } from './helpers/raw-socket.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

function assertFailedReply(answer: { status: number; headers: Record<string, string>; body: string }, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer));
  assert.equal(answer.headers['x-cloud-error-codes'], code);
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(answer.body) as { errors: Array<{ code: string; message: string }> };
  assert.equal(body.errors.length, 1);
  assert.equal(body.errors[0]!.code, code);
  assert.ok(body.errors[0]!.message.length > 10, body.errors[0]!.message);
}

test('a malformed percent-escape in the path is 400 root.invalid_request', async () => {
  const response = await server.api('GET', '/api/v1/deployments/extensions/%E0%A4%A');
  assert.equal(response.status, 400, response.text);
  assert.equal(response.headers.get('x-cloud-error-codes'), 'root.invalid_request');
  assert.equal(response.body.errors[0].code, 'root.invalid_request');
  assert.ok(!response.text.includes('%E0%A4%A'), 'the path was echoed');
});

test('Content-Length: abc is 400 root.invalid_request from the parser, as a BasicFailedReply', async () => {
  const answer = await exchange(
    server.url,
    `POST /api/v1/users/auth/_login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
  );
  assertFailedReply(answer, 400, 'root.invalid_request');
  assert.match(JSON.parse(answer.body).errors[0].message, /Content-Length/);
});

test('a request line that is not HTTP is 400 root.invalid_request', async () => {
  const answer = await exchange(server.url, 'HELLO THERE\r\n\r\n');
  assertFailedReply(answer, 400, 'root.invalid_request');
});

test('headers beyond the size limit are 431 root.request_headers_too_large', async () => {
  const answer = await exchange(
    server.url,
    `GET /api/v1/deployments/extensions HTTP/1.1\r\nHost: x\r\nAuthorization: ApiKey ${ADMIN_KEY}\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
  );
  assertFailedReply(answer, 431, 'root.request_headers_too_large');
});
