// extrepo-test-backends: each
// openDownload against local servers only: every request goes to 127.0.0.1 or [::1], and host
// names are answered by a fake lookup. Timeouts use small limits with generous margins; no test
// asserts a duration.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { checkAddress, DownloadError, openDownload, resolveDownloadHost } from '../src/download/index.js';
import type { DownloadErrorReason, DownloadPolicy, HostLookup } from '../src/download/index.js';

// ---------------------------------------------------------------------------------------------
// helpers

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface TestServer {
  server: Server;
  port: number;
  url: (path?: string, host?: string) => string;
  requests: IncomingMessage[];
  close: () => Promise<void>;
}

const servers = new Set<Server>();
after(async () => {
  await Promise.all([...servers].map((server) => closeServer(server)));
});

async function closeServer(server: Server): Promise<void> {
  if (!servers.delete(server)) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function startServer(handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  const requests: IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  server.listen(0, host);
  await once(server, 'listening');
  servers.add(server);
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port,
    requests,
    url: (path = '/plugin.zip', hostName = urlHost) => `http://${hostName}:${port}${path}`,
    close: () => closeServer(server),
  };
}

const basePolicy: DownloadPolicy = {
  allowHosts: ['127.0.0.1'],
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  maxBytes: 64 * 1024 * 1024,
  lookup: async (hostname) => {
    throw new Error(`unexpected DNS lookup of ${hostname}`);
  },
};

function policy(overrides: Partial<DownloadPolicy> = {}): DownloadPolicy {
  return { ...basePolicy, ...overrides };
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Asserts that `promise` rejects with a DownloadError of `reason`, and returns it. */
async function rejectsWith(promise: Promise<unknown>, reason: DownloadErrorReason): Promise<DownloadError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DownloadError, `expected a DownloadError (${reason}), got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  return caught;
}

/** Writes forever (respecting backpressure) until the connection closes; resolves then. */
function streamForever(res: ServerResponse): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 7);
  return new Promise((resolve) => {
    res.socket?.once('close', () => resolve());
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
}

// ---------------------------------------------------------------------------------------------

describe('openDownload: successful downloads', () => {
  test('streams the exact bytes and reports content length and type', async () => {
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': payload.length });
      res.end(payload);
    });
    const opened = await openDownload(srv.url(), policy());
    assert.equal(opened.contentLength, payload.length);
    assert.equal(opened.contentType, 'application/zip');
    assert.ok((await readAll(opened.body)).equals(payload));
  });

  test('chunked body without content-length', async () => {
    const parts = [randomBytes(1000), randomBytes(200_000), randomBytes(1)];
    const srv = await startServer(async (_req, res) => {
      res.writeHead(200);
      for (const part of parts) {
        res.write(part);
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end();
    });
    const opened = await openDownload(srv.url(), policy());
    assert.equal(opened.contentLength, null);
    assert.equal(opened.contentType, null);
    assert.ok((await readAll(opened.body)).equals(Buffer.concat(parts)));
  });

  test('sends User-Agent, Accept and the URL host; path and query kept, fragment dropped', async () => {
    const srv = await startServer((_req, res) => res.end('ok'));
    const opened = await openDownload(srv.url('/a/b.zip?sig=1%202#frag'), policy());
    await readAll(opened.body);
    const req = srv.requests[0];
    assert.ok(req);
    assert.equal(req.url, '/a/b.zip?sig=1%202');
    assert.equal(req.headers['user-agent'], 'extrepo');
    assert.equal(req.headers.accept, '*/*');
    assert.equal(req.headers.host, `127.0.0.1:${srv.port}`);
    assert.equal(req.headers.authorization, undefined);
  });

  test('URL credentials are sent as Basic auth and never quoted in errors', async () => {
    const srv = await startServer((req, res) => {
      res.statusCode = req.url === '/missing.zip' ? 404 : 200;
      res.end('x');
    });
    const withCredentials = (path: string) => srv.url(path).replace('http://', 'http://us%40er:p%3Ass%20word@');

    const opened = await openDownload(withCredentials('/plugin.zip'), policy());
    await readAll(opened.body);
    const expected = `Basic ${Buffer.from('us@er:p:ss word').toString('base64')}`;
    assert.equal(srv.requests[0]?.headers.authorization, expected);

    const error = await rejectsWith(openDownload(withCredentials('/missing.zip'), policy()), 'http_status');
    for (const secret of ['us%40er', 'us@er', 'p%3Ass', 'p:ss']) assert.ok(!error.message.includes(secret), error.message);
  });

  test('reaches an allowed IPv6 literal', async (t) => {
    let srv: TestServer;
    try {
      srv = await startServer((_req, res) => res.end('six'), '::1');
    } catch {
      t.skip('no IPv6 loopback on this machine');
      return;
    }
    const opened = await openDownload(srv.url(), policy({ allowHosts: ['::1'] }));
    assert.equal((await readAll(opened.body)).toString(), 'six');
    assert.equal(srv.requests[0]?.headers.host, `[::1]:${srv.port}`);
  });
});

describe('openDownload: refused answers', () => {
  for (const status of [301, 302, 307]) {
    test(`${status} is a redirect error naming the Location, and is not followed`, async () => {
      const srv = await startServer((req, res) => {
        if (req.url === '/plugin.zip') {
          res.writeHead(status, { location: '/final/plugin.zip' });
          res.end('moved');
        } else {
          res.end('followed!');
        }
      });
      const error = await rejectsWith(openDownload(srv.url(), policy()), 'redirect');
      assert.match(error.message, new RegExp(`^download_url answered ${status} `));
      assert.ok(error.message.includes(`redirect to ${srv.url('/final/plugin.zip')}`), error.message);
      assert.match(error.message, /redirects are not followed/);
      assert.equal(srv.requests.length, 1);
    });
  }

  test('a redirect Location with credentials is quoted without them', async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(302, { location: 'https://bob:secret@elsewhere.example/x.zip' });
      res.end();
    });
    const error = await rejectsWith(openDownload(srv.url(), policy()), 'redirect');
    assert.ok(error.message.includes('redirect to https://elsewhere.example/x.zip'), error.message);
    assert.ok(!error.message.includes('secret'));
  });

  test('404 and 500 are http_status errors with code and reason', async () => {
    const srv = await startServer((req, res) => {
      res.statusCode = req.url === '/gone.zip' ? 404 : 500;
      res.end('error page');
    });
    const notFound = await rejectsWith(openDownload(srv.url('/gone.zip'), policy()), 'http_status');
    assert.equal(notFound.message, 'download_url answered 404 Not Found');
    const broken = await rejectsWith(openDownload(srv.url('/boom.zip'), policy()), 'http_status');
    assert.equal(broken.message, 'download_url answered 500 Internal Server Error');
  });

  test('Content-Length over the limit is refused before the body is read', async () => {
    let serverSawClose!: Promise<unknown>;
    const srv = await startServer((_req, res) => {
      serverSawClose = once(res, 'close');
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
      // never finishes: the client must not wait for the body
    });
    const error = await rejectsWith(openDownload(srv.url(), policy({ maxBytes: 1024 * 1024 })), 'too_large');
    assert.match(error.message, /10485760 bytes, more than the limit of 1048576 bytes/);
    await serverSawClose;
  });
});

describe('openDownload: connection failures and limits', () => {
  test('connection refused names host and port', async () => {
    const srv = await startServer(() => {});
    const url = srv.url();
    await srv.close();
    const error = await rejectsWith(openDownload(url, policy()), 'connect');
    assert.ok(error.message.includes(`connection refused by 127.0.0.1:${srv.port}`), error.message);
  });

  test('headers that never come hit the connect timeout', async () => {
    const srv = await startServer(() => {
      // accepts the request and never answers
    });
    const error = await rejectsWith(openDownload(srv.url(), policy({ connectTimeoutMs: 200 })), 'timeout');
    assert.equal(error.message, `download_url host 127.0.0.1:${srv.port} did not respond within 0.2 s`);
  });

  test('a body that stalls errors with timeout', async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(5000));
    });
    const opened = await openDownload(srv.url(), policy({ idleTimeoutMs: 200 }));
    const error = await rejectsWith(readAll(opened.body), 'timeout');
    assert.match(error.message, /sent nothing for 0\.2 s/);
  });

  test('an endless body is cut off at maxBytes and the connection closed', async () => {
    let serverDone!: Promise<void>;
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/zip' });
      serverDone = streamForever(res);
    });
    const maxBytes = 2 * 1024 * 1024;
    const opened = await openDownload(srv.url(), policy({ maxBytes }));
    assert.equal(opened.contentLength, null);
    let received = 0;
    const error = await rejectsWith(
      (async () => {
        for await (const chunk of opened.body) received += (chunk as Buffer).length;
      })(),
      'too_large',
    );
    assert.ok(received <= maxBytes, `passed on ${received} bytes`);
    assert.match(error.message, /larger than the limit of 2097152 bytes/);
    await serverDone; // the server saw its socket close
  });

  test('a connection that breaks mid-body is a network error', async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(5000), () => res.socket?.destroy());
    });
    const opened = await openDownload(srv.url(), policy());
    await rejectsWith(readAll(opened.body), 'network');
  });

  test('a slow consumer is not mistaken for an idle server', async () => {
    const payload = randomBytes(4 * 1024 * 1024);
    const srv = await startServer((_req, res) => res.end(payload));
    const opened = await openDownload(srv.url(), policy({ idleTimeoutMs: 150 }));
    // Let the body fill its buffer and pause the socket for longer than the idle limit.
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.ok((await readAll(opened.body)).equals(payload));
  });
});

describe('openDownload: abort signal', () => {
  test('an already aborted signal rejects without a request', async () => {
    const srv = await startServer((_req, res) => res.end('x'));
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(openDownload(srv.url(), policy(), controller.signal), { name: 'AbortError' });
    assert.equal(srv.requests.length, 0);
  });

  test('aborting while waiting for headers rejects with the abort reason', async () => {
    const srv = await startServer(() => {});
    const controller = new AbortController();
    const pending = openDownload(srv.url(), policy(), controller.signal);
    await once(srv.server, 'request');
    const reason = new Error('client went away');
    controller.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
  });

  test('aborting during the body errors the body and closes the connection', async () => {
    let serverDone!: Promise<void>;
    const srv = await startServer((_req, res) => {
      res.writeHead(200);
      serverDone = streamForever(res);
    });
    const controller = new AbortController();
    const opened = await openDownload(srv.url(), policy(), controller.signal);
    opened.body.once('data', () => controller.abort());
    await assert.rejects(readAll(opened.body), { name: 'AbortError' });
    await serverDone;
  });
});

describe('download_url validation', () => {
  test('only http and https', async () => {
    const error = await rejectsWith(openDownload('ftp://files.example/x.zip', policy()), 'invalid_url');
    assert.equal(error.message, 'download_url must use http or https, got ftp:');
    await rejectsWith(openDownload('file:///etc/passwd', policy()), 'invalid_url');
    await rejectsWith(openDownload('javascript:alert(1)', policy()), 'invalid_url');
  });

  test('garbage is invalid_url and is not echoed', async () => {
    for (const raw of ['', 'not a url', 'http://', 'http://[::1', '//files.example/x.zip', 'http://a b/x']) {
      const error = await rejectsWith(openDownload(raw, policy()), 'invalid_url');
      if (raw.length > 0) assert.ok(!error.message.includes(raw), error.message);
    }
  });
});

describe('address policy', () => {
  const refusedSpellings = [
    'localhost',
    'LOCALHOST.',
    'foo.localhost',
    '127.0.0.1',
    '127.1',
    '2130706433',
    '0177.0.0.1',
    '0x7f000001',
    '0x7f.1',
    '[::1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '[fe80::1]',
    '[fd00::1]',
    '224.0.0.1',
    '[64:ff9b::7f00:1]',
    '[::]',
    '255.255.255.255',
    '[2002:c0a8:101::1]',
  ];

  for (const spelling of refusedSpellings) {
    test(`refuses http://${spelling}/`, async () => {
      // No allowHosts, a lookup that fails the test if consulted, and a tiny timeout in case a
      // broken check let the request through.
      const error = await rejectsWith(
        openDownload(`http://${spelling}:9/x.zip`, policy({ allowHosts: [], connectTimeoutMs: 500 })),
        'forbidden_address',
      );
      assert.match(error.message, /EXTREPO_DOWNLOAD_ALLOW_HOSTS/);
    });
  }

  test('the refusal names the host and the address', async () => {
    const error = await rejectsWith(openDownload('http://0x7f.1/x.zip', policy({ allowHosts: [] })), 'forbidden_address');
    assert.match(error.message, /127\.0\.0\.1 is a loopback address/);
    const metadata = await rejectsWith(openDownload('http://169.254.169.254/latest/meta-data/', policy({ allowHosts: [] })), 'forbidden_address');
    assert.match(metadata.message, /169\.254\.169\.254 is a link-local address/);
  });

  test('checkAddress refuses special ranges, including embedded IPv4', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.255.254',
      '::1',
      '0.0.0.0',
      '0.1.2.3',
      '::',
      '10.0.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '100.127.255.255',
      '169.254.169.254',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      '224.0.0.1',
      '239.255.255.250',
      'ff02::1',
      '255.255.255.255',
      '192.0.2.1',
      '198.51.100.7',
      '203.0.113.9',
      '198.18.0.1',
      '240.0.0.1',
      '192.0.0.8',
      '2001:db8::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:0:7f00:1',
      '::7f00:1',
      '64:ff9b::7f00:1',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b:1::1',
      '2002:7f00:1::1',
      '2002:a00:1::',
      '2001::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      'fec0::1',
      '100::1',
      '::2',
      '[::1]',
      'fe80::1%eth0',
      'localhost',
      '0x7f.1',
      '',
      'example.com',
    ]) {
      const verdict = checkAddress(address);
      assert.equal(verdict.allowed, false, `${address} should be refused`);
    }
    assert.deepEqual(checkAddress('::ffff:7f00:1'), {
      allowed: false,
      why: 'an IPv4-mapped IPv6 address for 127.0.0.1, which is a loopback address',
    });
  });

  test('checkAddress allows public unicast', () => {
    for (const address of [
      '93.184.216.34',
      '8.8.8.8',
      '1.1.1.1',
      '172.32.0.1',
      '100.128.0.1',
      '2606:2800:220:1:248:1893:25c8:1946',
      '2a00:1450:4001:81c::200e',
      '::ffff:93.184.216.34',
      '64:ff9b::5db8:d822',
      '2002:5db8:d822::1',
    ]) {
      assert.deepEqual(checkAddress(address), { allowed: true }, address);
    }
  });
});

describe('name resolution', () => {
  const fakeDns =
    (table: Record<string, string[]>): HostLookup =>
    async (hostname) => {
      const addresses = table[hostname];
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };

  test('a host name resolving to a private address is refused', async () => {
    const lookup = fakeDns({ 'intranet.example': ['10.0.0.7'] });
    const error = await rejectsWith(openDownload('http://intranet.example/x.zip', policy({ allowHosts: [], lookup })), 'forbidden_address');
    assert.match(error.message, /intranet\.example resolves to 10\.0\.0\.7, which is a private network address/);
  });

  test('one bad address among several is enough to refuse', async () => {
    const lookup = fakeDns({ 'mixed.example': ['93.184.216.34', 'fd00::5'] });
    await rejectsWith(resolveDownloadHost('mixed.example', { allowHosts: [], lookup }), 'forbidden_address');
  });

  test('a host name resolving to a public address passes the check (not connected to)', async () => {
    const lookup = fakeDns({ 'files.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] });
    assert.deepEqual(await resolveDownloadHost('files.example', { allowHosts: [], lookup }), [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ]);
  });

  test('IP literals and localhost names are not looked up', async () => {
    let calls = 0;
    const lookup: HostLookup = async () => {
      calls += 1;
      return [{ address: '93.184.216.34', family: 4 }];
    };
    assert.deepEqual(await resolveDownloadHost('93.184.216.34', { allowHosts: [], lookup }), [{ address: '93.184.216.34', family: 4 }]);
    await rejectsWith(resolveDownloadHost('db.localhost', { allowHosts: [], lookup }), 'forbidden_address');
    assert.equal(calls, 0);
  });

  test('allowHosts exempts a host from every address rule', async () => {
    // Looked up as written (a fully qualified name keeps its dot), compared without the dot.
    const lookup = fakeDns({ 'mirror.internal.': ['10.0.0.7'] });
    assert.deepEqual(await resolveDownloadHost('MIRROR.internal.', { allowHosts: ['mirror.internal'], lookup }), [
      { address: '10.0.0.7', family: 4 },
    ]);
    assert.deepEqual(await resolveDownloadHost('localhost', { allowHosts: ['localhost'], lookup: fakeDns({ localhost: ['127.0.0.1'] }) }), [
      { address: '127.0.0.1', family: 4 },
    ]);
  });

  test('DNS failure is a dns error naming the host', async () => {
    const error = await rejectsWith(openDownload('http://nowhere.example/x.zip', policy({ allowHosts: [], lookup: fakeDns({}) })), 'dns');
    assert.match(error.message, /nowhere\.example could not be resolved/);
    await rejectsWith(resolveDownloadHost('empty.example', { allowHosts: [], lookup: async () => [] }), 'dns');
  });

  test('a lookup that hangs is cut off by the connect timeout', async () => {
    const lookup: HostLookup = () => new Promise(() => {});
    await rejectsWith(openDownload('http://slow-dns.example/x.zip', policy({ allowHosts: [], lookup, connectTimeoutMs: 200 })), 'timeout');
  });

  test('a host with several checked addresses: refused on every one is a connect error', async () => {
    const srv = await startServer(() => {});
    const url = srv.url('/plugin.zip', 'files.test');
    await srv.close();
    const lookup: HostLookup = async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '127.0.0.2', family: 4 },
    ];
    const error = await rejectsWith(openDownload(url, policy({ allowHosts: ['files.test'], lookup })), 'connect');
    assert.ok(error.message.includes(`connection refused by files.test:${srv.port}`), error.message);
  });

  test('the connection uses the checked address: DNS rebinding cannot redirect it', async () => {
    const srv = await startServer((_req, res) => res.end('from the checked address'));
    let calls = 0;
    const lookup: HostLookup = async (hostname) => {
      assert.equal(hostname, 'files.test');
      calls += 1;
      // First answer: the local test server. Any later answer points elsewhere (and, being a
      // documentation address, would fail to connect if the socket asked again).
      return [{ address: calls === 1 ? '127.0.0.1' : '192.0.2.1', family: 4 }];
    };
    const opened = await openDownload(srv.url('/plugin.zip', 'files.test'), policy({ allowHosts: ['files.test'], lookup, connectTimeoutMs: 2000 }));
    assert.equal((await readAll(opened.body)).toString(), 'from the checked address');
    assert.equal(calls, 1);
    assert.equal(srv.requests[0]?.headers.host, `files.test:${srv.port}`);
  });
});

describe('https', () => {
  // A self-signed certificate for files.test (valid until 2126). Not trusted by Node, so the
  // connection must fail: that proves verification is on.
  const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAuKiHDMZzUuWgxuz
MdWJLM34/7jEcaM04a9nc3/7KXWhRANCAATZl7u7touPDuKUdNKe7cXa8lPgb0ak
sAzq07XbngBnvIsu4tpeh5nCqUV3zdzRUnoWT3ZV7lxaUzbfsIfBaRxz
-----END PRIVATE KEY-----`;
  const CERT = `-----BEGIN CERTIFICATE-----
MIIBmTCCAT6gAwIBAgIUIGfGQk2XOVj/LKFz6OGfJQol6O8wCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKZmlsZXMudGVzdDAgFw0yNjExMjcwMjQ0MTRaGA8yMTI2MTEw
MzAyNDQxNFowFTETMBEGA1UEAwwKZmlsZXMudGVzdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABNmXu7u2i48O4pR00p7txdryU+BvRqSwDOrTtdueAGe8iy7i2l6H
mcKpRXfN3NFSehZPdlXuXFpTNt+wh8FpHHOjajBoMB0GA1UdDgQWBBR5zRqWRqwc
hlrj2uJYvD/KYH/W/DAfBgNVHSMEGDAWgBR5zRqWRqwchlrj2uJYvD/KYH/W/DAP
BgNVHRMBAf8EBTADAQH/MBUGA1UdEQQOMAyCCmZpbGVzLnRlc3QwCgYIKoZIzj0E
AwIDSQAwRgIhAPMmhMMIHCvSTgS9L20skfToSYU3ove4IoEbnQL7lQxQAiEAxTC7
yx9aMlvNWmUq0CY5m0YjG+BWpiN/SVUqQnsXfno=
-----END CERTIFICATE-----`;

  test('SNI carries the URL host name and an untrusted certificate is refused', async () => {
    const serverNames: string[] = [];
    const server = https.createServer(
      {
        key: KEY,
        cert: CERT,
        SNICallback: (name, callback) => {
          serverNames.push(name);
          callback(null);
        },
      },
      (_req, res) => res.end('should not be reached'),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.add(server);
    const { port } = server.address() as AddressInfo;
    let requests = 0;
    server.on('request', () => (requests += 1));

    const error = await rejectsWith(
      openDownload(
        `https://files.test:${port}/plugin.zip`,
        policy({ allowHosts: ['files.test'], lookup: async () => [{ address: '127.0.0.1', family: 4 }] }),
      ),
      'network',
    );
    assert.match(error.message, /certificate/i);
    assert.deepEqual(serverNames, ['files.test']);
    assert.equal(requests, 0);
  });
});
