// extrepo-test-backends: none
// Which answers the CLI's reused-buffer download (src/cli/plain-http-body.ts) takes itself, and that
// it hands over exactly the body of a real server's answer; every other answer goes back to the full
// HTTP client ('not-plain') before a byte of body is handed over.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { plainContentLength, readPlainHttpBody } from '../src/cli/plain-http-body.js';

test('only a 200 with one Content-Length and no Transfer-Encoding is plain', () => {
  assert.equal(plainContentLength('HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 42'), 42);
  assert.equal(plainContentLength('HTTP/1.0 200 OK\r\ncontent-length: 0'), 0);
  assert.equal(plainContentLength('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked'), null);
  assert.equal(plainContentLength('HTTP/1.1 200 OK\r\nContent-Length: 42\r\nTransfer-Encoding: chunked'), null);
  assert.equal(plainContentLength('HTTP/1.1 200 OK\r\nContent-Length: 42\r\nContent-Length: 43'), null);
  assert.equal(plainContentLength('HTTP/1.1 200 OK\r\nContent-Length: -1'), null);
  assert.equal(plainContentLength('HTTP/1.1 200 OK'), null);
  assert.equal(plainContentLength('HTTP/1.1 206 Partial Content\r\nContent-Length: 42'), null);
  assert.equal(plainContentLength('HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0'), null);
  assert.equal(plainContentLength('HTTP/1.1 403 Forbidden\r\nContent-Length: 42'), null);
  assert.equal(plainContentLength('HTTP/1.1 200 OK\r\nbroken header line'), null);
});

let server: http.Server;
let base: string;
const body = randomBytes(3 * 1024 * 1024 + 17);
before(async () => {
  server = http.createServer((request, response) => {
    if (request.url === '/plain') {
      response.writeHead(200, { 'content-length': body.length });
      response.end(body);
    } else if (request.url === '/chunked') {
      response.writeHead(200);
      response.end(body);
    } else if (request.url === '/long') {
      // More than announced: written to the socket behind Node's back.
      response.writeHead(200, { 'content-length': 10 });
      response.flushHeaders();
      response.socket?.end(Buffer.alloc(20, 1));
    } else if (request.url === '/short') {
      response.writeHead(200, { 'content-length': body.length });
      response.end(body.subarray(0, 1000), () => response.socket?.destroy());
    } else {
      response.writeHead(404, { 'content-length': 2 });
      response.end('no');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function read(path: string) {
  const pieces: Buffer[] = [];
  let length: number | null = null;
  const outcome = await readPlainHttpBody(
    new URL(path, base),
    { onLength: (n) => (length = n), onBytes: (view) => pieces.push(Buffer.from(view)) },
    { userAgent: 'test' },
  );
  return { outcome, length, received: Buffer.concat(pieces) };
}

test('a plain answer is handed over byte for byte', async () => {
  const { outcome, length, received } = await read('/plain');
  assert.equal(outcome, 'done');
  assert.equal(length, body.length);
  assert.ok(received.equals(body));
});

test('a chunked answer, an error status, https and a refused connection are not plain, and nothing is handed over', async () => {
  for (const path of ['/chunked', '/missing']) {
    const { outcome, length, received } = await read(path);
    assert.equal(outcome, 'not-plain', path);
    assert.equal(length, null, path);
    assert.equal(received.length, 0, path);
  }
  assert.equal(await readPlainHttpBody(new URL('https://127.0.0.1:1/x'), { onLength() {}, onBytes() {} }, { userAgent: 'test' }), 'not-plain');
  assert.equal(await readPlainHttpBody(new URL('http://127.0.0.1:1/x'), { onLength() {}, onBytes() {} }, { userAgent: 'test' }), 'not-plain');
});

test('a body cut short is an error that says how much arrived', async () => {
  await assert.rejects(read('/short'), /closed after 1000 of 3145745 bytes/);
});

test('bytes past the Content-Length are an error, and never reach the reader', async () => {
  let handed = 0;
  await assert.rejects(
    readPlainHttpBody(new URL('/long', base), { onLength() {}, onBytes: (view) => (handed += view.length) }, { userAgent: 'test' }),
    /more than the 10 bytes it announced/,
  );
  assert.ok(handed <= 10, `${handed} bytes reached the reader`);
});

test('a refusal in onLength ends the transfer with it', async () => {
  const refused = new Error('wrong size');
  await assert.rejects(
    readPlainHttpBody(
      new URL('/plain', base),
      {
        onLength() {
          throw refused;
        },
        onBytes() {
          assert.fail('no byte after a refusal');
        },
      },
      { userAgent: 'test' },
    ),
    (error) => error === refused,
  );
});
