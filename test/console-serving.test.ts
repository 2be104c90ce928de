// extrepo-test-backends: each
// How extrepo serves the built web console: at / on the API's port, with strict security headers,
// hashed assets cached for good and served pre-compressed, index.html revalidated and answered for
// every console route (deep links), while the API keeps its own answers and error shapes.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { defaultConsoleDir } from '../src/http/console/serve-console.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let entryScript: string;
const dir = defaultConsoleDir();

before(async () => {
  const index = readFileSync(path.join(dir, 'index.html'), 'utf8'); // built by npm ci (npm run build:console)
  entryScript = /src="(\/assets\/[^"]+\.js)"/.exec(index)![1]!;
  server = await startServer();
});
after(async () => {
  await server.close();
});

function cspOf(response: Response): Map<string, string> {
  const header = response.headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name, ...values] = part.split(/\s+/);
        return [name!, values.join(' ')] as [string, string];
      }),
  );
}

describe('serving the web console', () => {
  test('/ answers the app with a CSP that allows no inline script, no eval and no framing', async () => {
    const response = await fetch(`${server.url}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^text\/html/);
    const csp = cspOf(response);
    assert.equal(csp.get('default-src'), "'self'");
    assert.match(csp.get('script-src')!, /^'self'( 'nonce-[0-9a-f]+')?$/);
    assert.equal(csp.get('script-src-attr'), "'none'");
    assert.equal(csp.get('frame-ancestors'), "'none'");
    assert.equal(csp.get('object-src'), "'none'");
    for (const [name, value] of csp) {
      assert.doesNotMatch(value, /unsafe-inline|unsafe-eval/, name);
    }
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(response.headers.get('cache-control'), 'no-cache');
    const html = await response.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline <script>');
    assert.doesNotMatch(html, /__CSP_NONCE__/);
  });

  test("the page carries this response's style nonce, a new one each time", async () => {
    const nonces = [];
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${server.url}/extensions`);
      const styleNonce = /'nonce-([0-9a-f]+)'/.exec(cspOf(response).get('style-src')!)![1]!;
      assert.match(await response.text(), new RegExp(`<meta name="csp-nonce" content="${styleNonce}"`));
      nonces.push(styleNonce);
    }
    assert.notEqual(nonces[0], nonces[1]);
  });

  test('deep links answer the app (the browser routes them); so does an unknown console route', async () => {
    for (const route of ['/extensions/1234567890', '/admin/users', '/no/such/page?x=1']) {
      const response = await fetch(`${server.url}${route}`);
      assert.equal(response.status, 200, route);
      assert.match(await response.text(), /<div id="root">/);
    }
  });

  test('hashed assets are immutable for a year and served as brotli or gzip as the client accepts', async () => {
    const original = readFileSync(path.join(dir, entryScript));
    for (const [accept, encoding, decode] of [
      ['br, gzip', 'br', zlib.brotliDecompressSync],
      ['gzip', 'gzip', zlib.gunzipSync],
      ['identity', null, (bytes: Buffer) => bytes],
    ] as const) {
      const response = await fetch(`${server.url}${entryScript}`, { headers: { 'accept-encoding': accept } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(response.headers.get('content-type')!, /javascript/);
      assert.equal(response.headers.get('content-encoding'), encoding);
      // fetch decodes br and gzip itself; compare what it hands over with the built file.
      const body = Buffer.from(await response.arrayBuffer());
      assert.ok(decode === decode && body.equals(original), `${accept}: the same bytes as the build`);
    }
    assert.ok(readdirSync(path.join(dir, 'assets')).some((name) => name.endsWith('.js.br')));
  });

  test('a missing asset and API paths keep the API answers: BasicFailedReply, never the app', async () => {
    const missing = await fetch(`${server.url}/assets/no-such-file.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-cloud-error-codes'), 'root.resource_not_found');
    const unknownApi = await server.api('GET', '/api/v1/no-such-endpoint');
    assert.equal(unknownApi.status, 404);
    assert.equal(unknownApi.body.errors[0].code, 'root.resource_not_found');
    assert.equal(unknownApi.headers.get('content-security-policy'), null, 'API answers carry no console headers');
    const list = await server.api('GET', '/api/v1/deployments/extensions');
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('content-security-policy'), null);
    const post = await fetch(`${server.url}/extensions`, { method: 'POST' });
    assert.equal(post.status, 404);
    assert.equal(post.headers.get('x-cloud-error-codes'), 'root.resource_not_found');
  });

  test('the operations endpoints are unchanged', async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.headers.get('content-security-policy'), null);
  });
});
