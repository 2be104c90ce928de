// extrepo-test-backends: none
// The settings (src/config.ts): units, case, exact link lifetimes, IPv6 origins, TLS, proxies, the
// store pairing, and warnings for EXTREPO_* variables that are no setting.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, formatOrigin, loadConfig, parseSize } from '../src/config.js';
import { createFileLinkSigner, expiryStepSeconds } from '../src/domain/file-links.js';

function refused(env: Record<string, string>, pattern: RegExp): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => error instanceof ConfigError && pattern.test(error.message),
    JSON.stringify(env),
  );
}

describe('sizes', () => {
  test('accept plain bytes and decimal or binary units, in any case', () => {
    assert.equal(parseSize('1048576'), 1048576);
    assert.equal(parseSize('8GiB'), 8 * 1024 ** 3);
    assert.equal(parseSize('20MB'), 20_000_000);
    assert.equal(parseSize('20mb'), 20_000_000);
    assert.equal(parseSize('1.5 KiB'), 1536);
    assert.equal(parseSize('512 b'), 512);
    assert.equal(parseSize('2TiB'), 2 * 1024 ** 4);
    for (const bad of ['', 'eight', '8 GB extra', '-1', '8XB', '1e9']) assert.equal(parseSize(bad), null, bad);
  });

  test('every size setting takes them', () => {
    const config = loadConfig({ EXTREPO_MAX_FILE_BYTES: '8GiB', EXTREPO_MAX_JSON_BYTES: '2MiB', EXTREPO_MAX_UNCOMPRESSED_BYTES: '20GB' });
    assert.equal(config.maxFileBytes, 8 * 1024 ** 3);
    assert.equal(config.maxJsonBytes, 2 * 1024 ** 2);
    assert.equal(config.maxUncompressedBytes, 20e9);
    assert.equal(loadConfig({ EXTREPO_MAX_FILE_BYTES: '1000' }).maxUncompressedBytes, 4000, 'the default follows the file limit');
  });

  test('a size that is no size, or too small, is refused naming the setting and the units', () => {
    refused({ EXTREPO_MAX_FILE_BYTES: '8 gigs' }, /EXTREPO_MAX_FILE_BYTES must be a size .*GiB/);
    refused({ EXTREPO_MAX_JSON_BYTES: '1KB' }, /EXTREPO_MAX_JSON_BYTES must be at least 1024 bytes/);
  });
});

describe('levels and choices', () => {
  test('are case-insensitive', () => {
    assert.equal(loadConfig({ EXTREPO_LOG_LEVEL: 'DEBUG' }).logLevel, 'debug');
    assert.equal(loadConfig({ EXTREPO_LOG_LEVEL: ' Warn ' }).logLevel, 'warn');
    assert.equal(loadConfig({ EXTREPO_FILE_LINKS: 'EXTREPO' }).fileLinks, 'extrepo');
    const db = loadConfig({
      EXTREPO_DATABASE_URL: 'postgres://x/y',
      EXTREPO_S3_BUCKET: 'b',
      EXTREPO_DATABASE_SSL: 'Verify-Full',
      EXTREPO_S3_FORCE_PATH_STYLE: 'TRUE',
    });
    assert.equal(db.database?.ssl, 'verify-full');
    assert.equal(db.s3?.forcePathStyle, true);
    refused({ EXTREPO_LOG_LEVEL: 'LOUD' }, /EXTREPO_LOG_LEVEL must be one of .* got "LOUD"/);
  });
});

describe('file link lifetime', () => {
  test('a TTL under two minutes is exact to the second', () => {
    const now = new Date('2026-12-01T10:00:00.300Z');
    for (const ttl of [1, 10, 59, 90, 119]) {
      const link = new URL(createFileLinkSigner('s'.repeat(32), ttl).sign('1', 'a'.repeat(64), now), 'http://x');
      assert.equal(Number(link.searchParams.get('expires')), Math.floor(now.getTime() / 1000) + ttl, `ttl ${ttl}`);
    }
  });

  test('a longer TTL is rounded up by at most a sixtieth of it (one minute at most), so repeated reads return one URL', () => {
    assert.equal(expiryStepSeconds(600), 10);
    assert.equal(expiryStepSeconds(3600), 60);
    assert.equal(expiryStepSeconds(7 * 24 * 3600), 60);
    const signer = createFileLinkSigner('s'.repeat(32), 600);
    const issued = new Date('2026-12-01T10:00:03Z');
    const expires = (at: Date) => Number(new URL(signer.sign('1', 'a'.repeat(64), at), 'http://x').searchParams.get('expires'));
    const lifetime = expires(issued) - issued.getTime() / 1000;
    assert.ok(lifetime >= 600 && lifetime < 610, `lifetime ${lifetime}`);
    assert.equal(expires(new Date(issued.getTime() + 5000)), expires(issued));
  });
});

describe('origins', () => {
  test('IPv6 hosts are printed in brackets', () => {
    assert.equal(formatOrigin('http', '::1', 12400), 'http://[::1]:12400');
    assert.equal(formatOrigin('https', '[fd00::5]', 443), 'https://[fd00::5]:443');
    assert.equal(formatOrigin('http', '127.0.0.1', 80), 'http://127.0.0.1:80');
    assert.equal(formatOrigin('http', 'repo.example.com', 8080), 'http://repo.example.com:8080');
  });

  test('EXTREPO_PUBLIC_URL is an origin: a trailing slash is dropped, a path is refused with the reason', () => {
    assert.equal(loadConfig({ EXTREPO_PUBLIC_URL: 'https://repo.example.com/' }).publicUrl, 'https://repo.example.com');
    assert.equal(loadConfig({ EXTREPO_PUBLIC_URL: 'http://[::1]:8080' }).publicUrl, 'http://[::1]:8080');
    refused(
      { EXTREPO_PUBLIC_URL: 'https://host/repo/' },
      /EXTREPO_PUBLIC_URL must be an origin without a path.*"https:\/\/host\/repo\/".*own host name or port/,
    );
    refused({ EXTREPO_PUBLIC_URL: 'https://host/?x=1' }, /EXTREPO_PUBLIC_URL must be an origin without a path/);
  });
});

describe('TLS', () => {
  test('needs both the certificate and the key', () => {
    assert.equal(loadConfig({}).tls, null);
    const config = loadConfig({ EXTREPO_TLS_CERT: '/etc/extrepo/tls.crt', EXTREPO_TLS_KEY: '/etc/extrepo/tls.key' });
    assert.deepEqual(config.tls, { certFile: '/etc/extrepo/tls.crt', keyFile: '/etc/extrepo/tls.key' });
    refused({ EXTREPO_TLS_CERT: '/etc/extrepo/tls.crt' }, /EXTREPO_TLS_CERT is set but EXTREPO_TLS_KEY is not/);
    refused({ EXTREPO_TLS_KEY: '/etc/extrepo/tls.key' }, /EXTREPO_TLS_KEY is set but EXTREPO_TLS_CERT is not/);
  });
});

describe('EXTREPO_TRUST_PROXY', () => {
  test('takes a hop count or addresses, CIDRs and range names; unset or 0 trusts no proxy', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ EXTREPO_TRUST_PROXY: '0' }).trustProxy, false);
    assert.equal(loadConfig({ EXTREPO_TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ EXTREPO_TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,fd00::/8, Loopback' }).trustProxy, [
      '10.0.0.5',
      '10.1.0.0/16',
      'fd00::/8',
      'loopback',
    ]);
  });

  test('refuses "trust everyone" and anything that is no address', () => {
    refused({ EXTREPO_TRUST_PROXY: 'true' }, /would believe any client's X-Forwarded-For/);
    refused({ EXTREPO_TRUST_PROXY: 'lb.internal' }, /EXTREPO_TRUST_PROXY .*"lb.internal" is none of these/);
    refused({ EXTREPO_TRUST_PROXY: '10.0.0.0/99' }, /EXTREPO_TRUST_PROXY/);
  });
});

describe('store pairing', () => {
  test('PostgreSQL without S3, or S3 without PostgreSQL, is refused with the reason', () => {
    refused(
      { EXTREPO_DATABASE_URL: 'postgres://x/y' },
      /EXTREPO_DATABASE_URL is set but EXTREPO_S3_BUCKET is not: .*another instance .*EXTREPO_ALLOW_MIXED_STORES=true/,
    );
    refused(
      { EXTREPO_S3_BUCKET: 'files' },
      /EXTREPO_S3_BUCKET is set but EXTREPO_DATABASE_URL is not: .*garbage collection .*EXTREPO_ALLOW_MIXED_STORES=true/,
    );
  });

  test('is allowed when asked for explicitly', () => {
    const mixed = loadConfig({ EXTREPO_DATABASE_URL: 'postgres://x/y', EXTREPO_ALLOW_MIXED_STORES: 'true' });
    assert.equal(mixed.s3, null);
    assert.equal(mixed.database?.url, 'postgres://x/y');
    assert.equal(loadConfig({ EXTREPO_S3_BUCKET: 'files', EXTREPO_ALLOW_MIXED_STORES: 'yes' }).database, null);
  });
});

describe('unknown EXTREPO_* variables', () => {
  test('get a warning naming the closest setting', () => {
    const config = loadConfig({ EXTREPO_PORTS: '8080', EXTREPO_DATA_DIRECTORY: '/x', EXTREPO_S3_BUKET: 'b', EXTREPO_PORT: '1' });
    assert.deepEqual(config.warnings, [
      'EXTREPO_DATA_DIRECTORY is not an extrepo setting and is ignored: did you mean EXTREPO_DATA_DIR?',
      'EXTREPO_PORTS is not an extrepo setting and is ignored: did you mean EXTREPO_PORT?',
      'EXTREPO_S3_BUKET is not an extrepo setting and is ignored: did you mean EXTREPO_S3_BUCKET?',
    ]);
  });

  test('with nothing close, the warning does not guess', () => {
    assert.deepEqual(loadConfig({ EXTREPO_WHATEVER_ELSE_ENTIRELY: '1' }).warnings, [
      'EXTREPO_WHATEVER_ELSE_ENTIRELY is not an extrepo setting and is ignored (the settings are listed in the README)',
    ]);
  });

  test("real settings, conditional ones included, and the test suite's EXTREPO_TEST_* give none", () => {
    const config = loadConfig({
      EXTREPO_PORT: '1',
      EXTREPO_DATABASE_POOL_SIZE: '3', // read only with EXTREPO_DATABASE_URL
      EXTREPO_TEST_BACKEND: 'sqlite-fs',
      OTHER_VARIABLE: 'x',
    });
    assert.deepEqual(config.warnings, []);
  });
});

describe('the loaded config', () => {
  test('is frozen all the way down: nested settings and host lists cannot be changed', () => {
    const config = loadConfig({
      EXTREPO_DATABASE_URL: 'postgres://extrepo@db.example:5432/extrepo',
      EXTREPO_S3_BUCKET: 'files',
      EXTREPO_DOWNLOAD_ALLOW_HOSTS: 'artifacts.example.com',
      EXTREPO_TRUST_PROXY: '10.0.0.1',
    });
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (config.database as { url: string }).url = 'postgres://elsewhere/db';
    }, TypeError);
    assert.throws(() => {
      (config.s3 as { bucket: string }).bucket = 'other';
    }, TypeError);
    assert.throws(() => (config.downloadAllowHosts as string[]).push('evil.example.com'), TypeError);
    assert.throws(() => (config.trustProxy as string[]).push('0.0.0.0/0'), TypeError);
    assert.throws(() => (config.warnings as string[]).push('x'), TypeError);
    assert.equal(config.database?.url, 'postgres://extrepo@db.example:5432/extrepo');
    assert.equal(config.s3?.bucket, 'files');
    assert.deepEqual(config.downloadAllowHosts, ['artifacts.example.com']);
    assert.deepEqual(config.trustProxy, ['10.0.0.1']);
  });

  test('carries the archive ratio limits the server and the CLI enforce', () => {
    const config = loadConfig({});
    assert.equal(config.maxCompressionRatio, 100);
    assert.equal(config.compressionRatioMinBytes, 1024 * 1024);
  });
});
